// The libcrypto/libssl headers the PaymentCrypto wrapper (Sources/Crypto) calls. Only that module imports COpenSSL.
// OpenSSL 3.0 or newer: the EVP_MAC, EVP_PKEY_fromdata and OSSL_PARAM APIs used by the wrapper are 3.0 APIs.
#include <openssl/opensslv.h>
#if OPENSSL_VERSION_MAJOR < 3
#error "PaymentCrypto needs OpenSSL 3.0 or newer (libssl-dev from Debian 12 or 13)"
#endif
#include <openssl/asn1.h>
#include <openssl/bio.h>
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
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

// Selections for EVP_PKEY_fromdata(): the EVP_PKEY_* selection macros are expressions over
// OSSL_KEYMGMT_SELECT_* that Swift does not import, so their values are exported as constants here.
static const int pcshim_EVP_PKEY_PUBLIC_KEY = EVP_PKEY_PUBLIC_KEY;
static const int pcshim_EVP_PKEY_KEYPAIR = EVP_PKEY_KEYPAIR;

// libssl controls that openssl/ssl.h defines as function-like macros over SSL_CTX_ctrl / SSL_ctrl, and the
// BIO_get_mem_data macro over BIO_ctrl: Swift does not import function-like macros, so they are inline functions here.
static inline int pcshim_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_min_proto_version(ctx, version);
}
static inline int pcshim_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_max_proto_version(ctx, version);
}
static inline long pcshim_SSL_CTX_set_mode(SSL_CTX *ctx, long mode) { return SSL_CTX_set_mode(ctx, mode); }
static inline int pcshim_SSL_set_tlsext_host_name(SSL *ssl, const char *name) {
    return (int)SSL_set_tlsext_host_name(ssl, name);
}
static inline long pcshim_BIO_get_mem_data(BIO *bio, const unsigned char **data) {
    return BIO_get_mem_data(bio, (char **)data);
}
static inline int pcshim_SSL_CTX_add1_chain_cert(SSL_CTX *ctx, X509 *cert) {
    return (int)SSL_CTX_add1_chain_cert(ctx, cert);
}
// Option and mode bits (uint64_t expressions in openssl/ssl.h).
static const uint64_t pcshim_SSL_OP_NO_RENEGOTIATION = SSL_OP_NO_RENEGOTIATION;
static const uint64_t pcshim_SSL_OP_NO_COMPRESSION = SSL_OP_NO_COMPRESSION;
static const uint64_t pcshim_SSL_OP_NO_TICKET = SSL_OP_NO_TICKET;
static const long pcshim_SSL_MODE_ENABLE_PARTIAL_WRITE = SSL_MODE_ENABLE_PARTIAL_WRITE;
static const long pcshim_SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER = SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER;
