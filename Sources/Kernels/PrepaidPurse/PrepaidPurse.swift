/// Closed-loop prepaid cards (pure): the terminal side of the PBOC electronic purse (load, purchase, balance) and
/// the secure access module (SAM) protocol that holds the terminal's purse keys (docs/prepaid.md).
public enum PrepaidPurse {}
