package oneactor

import "testing"

func TestAppInfo(t *testing.T) {
	info := AppInfo()
	if info.Details.Name != "OneActor Desktop" || info.Details.ID == "" || info.Details.Build < 1 {
		t.Fatalf("details: %+v", info.Details)
	}
	if !info.Migrations["fyneDo"] {
		t.Fatal("FyneApp.toml must opt into the fyneDo migration")
	}
	if _, err := parseInfo([]byte("[Details]\nName = \"x\"\n")); err == nil {
		t.Fatal("incomplete [Details] accepted")
	}
}
