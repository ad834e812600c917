/* SPDX-License-Identifier: GPL-2.0 */
/* All that guest-kmod/extents.c and veil_guest.h use is in kshim.h. */
#include <kshim.h>
