// The parts of the system libcrypto (OpenSSL 3) that AWSAuth calls: one-shot SHA-256 (EVP_Digest), one-shot
// HMAC (HMAC) and constant-time comparison (CRYPTO_memcmp). Install with `apt-get install libssl-dev`.
#ifndef GANTRY_CCRYPTO_SHIM_H
#define GANTRY_CCRYPTO_SHIM_H

// Glibc's module map covers only its umbrella header, so the C library headers OpenSSL includes (stdlib.h, and
// through it pthread_attr_t and the rest of sys/types.h) would otherwise be copied into this module. Swift then
// takes this module as their owner and, with MemberImportVisibility, asks every target that sees AWSAuth, even
// transitively, to import CCrypto before using them (`pthread_attr_t()` in the gantry executable). Importing the
// Glibc module first defines their include guards, so OpenSSL's includes of them become no-ops.
#if defined(__linux__)
#pragma clang module import SwiftGlibc
#endif

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#endif
