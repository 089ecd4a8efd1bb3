// Package control builds ControlNet conditioning images: the OpenPose body
// skeleton (pose model, editor operations, OpenPose JSON interchange and the
// skeleton renderer the ToyWorld ControlNet was trained with) and Canny edge
// maps. It is pure Go: no GUI toolkit and no ONNX Runtime, so the GUI, the
// service layer and headless tools share one implementation.
//
// Coordinates are pixels of the pose's canvas (x right, y down, (0,0) the
// top-left corner of the top-left pixel, so pixel (i, j) has its centre at
// (i+0.5, j+0.5)), as in the team's shared/docs/openpose.md and the
// ToyWorld tool (tools/toyworld/openpose.py).
package control
