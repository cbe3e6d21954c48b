#!/usr/bin/env bash
# vault_s3_accept.sh - vault_accept.sh with the vault's repositories on a
# real Ceph RGW (kurad init --store s3:...): the acceptance is stored in the
# bucket, shown with its alert (read through the store, not from
# DIR/repos), audited, and applied by the next backup.
VAULT_ACCEPT_STORE=s3 exec bash "$(dirname "$0")/vault_accept.sh"
