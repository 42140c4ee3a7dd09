package ui

// defaultPrinter returns the built-in PDF printer, or nil while none is
// available (print actions then explain that printing is not set up).
func defaultPrinter(o Options) Printer { return nil }
