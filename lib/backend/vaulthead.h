/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vaulthead.h - the vault backend's memory of the newest signed log head
 * its vault showed (kura/loghead.h), and the warning when a vault answers
 * with an older one.
 */
#ifndef KURA_BACKEND_VAULTHEAD_H
#define KURA_BACKEND_VAULTHEAD_H

#include <stdint.h>

typedef struct vaulthead vaulthead;

/* Remember heads of the vault whose signing key is `pk` (loads what was remembered). */
int vaulthead_open(vaulthead **out, const uint8_t pk[32], const char *location);

/* One answer's Kura-Log-Head value (NULL: none sent); thread-safe, never fails. */
void vaulthead_seen(vaulthead *vh, const char *value);

/* Store the newest head seen and free; NULL is fine. */
void vaulthead_free(vaulthead *vh);

#endif
