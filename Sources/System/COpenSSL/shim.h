// The libcrypto/libssl headers the PaymentCrypto wrapper (Sources/Crypto) calls. Only that module imports COpenSSL.
// OpenSSL 3.0 or newer: the EVP_MAC, EVP_PKEY_fromdata and OSSL_PARAM APIs used by the wrapper are 3.0 APIs.
#include <openssl/opensslv.h>
#if OPENSSL_VERSION_MAJOR < 3
#error "PaymentCrypto needs OpenSSL 3.0 or newer (libssl-dev from Debian 12 or 13)"
#endif
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

// Selections for EVP_PKEY_fromdata(): the EVP_PKEY_* selection macros are expressions over
// OSSL_KEYMGMT_SELECT_* that Swift does not import, so their values are exported as constants here.
static const int pcshim_EVP_PKEY_PUBLIC_KEY = EVP_PKEY_PUBLIC_KEY;
static const int pcshim_EVP_PKEY_KEYPAIR = EVP_PKEY_KEYPAIR;
