public enum TerminalAppPlaceholder {}
