#ifndef CPCSCLITE_SHIM_H
#define CPCSCLITE_SHIM_H
/* PC/SC lite (pcscd's client library). SCARD_PCI_T0/T1 are macros taking the address of a global and
   SCARD_AUTOALLOCATE is a cast: Swift imports neither, so they are re-exported here. */
#include <winscard.h>
#include <pcsclite.h>
#include <reader.h>

static inline const SCARD_IO_REQUEST *cpcsc_pci_t0(void) { return SCARD_PCI_T0; }
static inline const SCARD_IO_REQUEST *cpcsc_pci_t1(void) { return SCARD_PCI_T1; }
static inline const SCARD_IO_REQUEST *cpcsc_pci_raw(void) { return SCARD_PCI_RAW; }
#endif
