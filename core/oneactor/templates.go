package oneactor

// DefaultTemplates are the caption templates of the tuning objective (the
// textual-inversion list the reference code uses); {} is the base word.
var DefaultTemplates = []string{
	"a photo of a {}", "a rendering of a {}", "a cropped photo of the {}", "the photo of a {}",
	"a photo of a clean {}", "a photo of a dirty {}", "a dark photo of the {}", "a photo of my {}",
	"a photo of the cool {}", "a close-up photo of a {}", "a bright photo of the {}", "a cropped photo of a {}",
	"a photo of the {}", "a good photo of the {}", "a photo of one {}", "a close-up photo of the {}",
	"a rendition of the {}", "a photo of the clean {}", "a rendition of a {}", "a photo of a nice {}",
	"a good photo of a {}", "a photo of the nice {}", "a photo of the small {}", "a photo of the weird {}",
	"a photo of the large {}",
}
