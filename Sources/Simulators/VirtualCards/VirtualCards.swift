// The card side of EMV for the sim board and the tests (filled in by the virtual-cards work).
