import TerminalApp
print("terminal")
