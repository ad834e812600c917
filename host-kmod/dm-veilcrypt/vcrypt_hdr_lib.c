// SPDX-License-Identifier: GPL-2.0
/*
 * The image header codec, shared with veil-disk and the selftests: this
 * module compiles lib/vcrypt/vcrypt_hdr.c as it is, never a copy of it.
 */
#include "../../lib/vcrypt/vcrypt_hdr.c"
