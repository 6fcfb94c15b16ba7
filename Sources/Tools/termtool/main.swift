import TerminalApp
print("termtool")
