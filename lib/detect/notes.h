/* SPDX-License-Identifier: Apache-2.0 */
/*
 * notes.h - ransom notes by name: the shipped list of names that only
 * ransom notes carry (lib/detect/ransom_notes.txt, with its provenance and
 * licence).  Notes without a listed name are found by their shape in
 * judge.c: one new small text file name in many directories.
 */
#ifndef KURA_DETECT_NOTES_H
#define KURA_DETECT_NOTES_H

/* 1 if `base` (a file's base name) matches a listed ransom-note name. */
int kura_detect_note_name(const char *base);

/* The list, NULL-terminated (generated from ransom_notes.txt by the Makefile). */
extern const char *const kura_detect_note_patterns[];

#endif
