// The entry point: parse the arguments and run (a file named main.swift, since an @main
// type in a single-file executable is rejected as top-level code).
SynthCommand.main()
