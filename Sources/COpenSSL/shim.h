#ifndef KMSINDEX_COPENSSL_SHIM_H
#define KMSINDEX_COPENSSL_SHIM_H
// libcrypto from Debian's libssl-dev (OpenSSL 3): SHA-256 and MD5 through EVP, RSA PKCS#1 v1.5
// signatures (digest files), errors. Linked statically (see KMSCrypto in Package.swift), so
// the module map names no library. Only the EVP interface: the low-level SHA256_* and RSA_*
// functions are deprecated in OpenSSL 3.
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#endif
