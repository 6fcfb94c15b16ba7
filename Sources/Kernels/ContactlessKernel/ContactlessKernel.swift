/// EMV contactless (pure): Entry Point (EMV Book B), Kernel 3 (Visa qVSDC, and UnionPay qPBOC where it shares that
/// path) and Kernel 2 (Mastercard M/Chip), driven through actions and events like the contact kernel
/// (docs/contactless.md).
public enum ContactlessKernel {}
