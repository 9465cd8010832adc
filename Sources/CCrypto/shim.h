#ifndef DZ_CCRYPTO_SHIM_H
#define DZ_CCRYPTO_SHIM_H
/* OpenSSL's libcrypto (libssl-dev, which libcurl4-openssl-dev pulls in): SHA-256 for bundle checksums. */
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/rand.h>
#endif
