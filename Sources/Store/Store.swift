// The stored state of the terminal: see Database.swift.
