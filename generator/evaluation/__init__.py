"""Offline quality measures of the generator (GUIDE.md, "Generator quality, measured offline"):
FD_face and face rate (dlib), multi-scale SWD, the data-copying test, C2ST. No downloads."""
