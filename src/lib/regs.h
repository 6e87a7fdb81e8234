/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The VT-d register map (Intel VT-d specification, revision 4.1 / 5.0,
 * chapter 11): every register's offset and fields.  Bit positions are
 * written here once, in X-macro lists; the descriptor tables in regs.c give
 * each field its title, kind and meaning.
 */

#include "field.h"

/* Offsets from the unit's register base. */
enum {
        REG_VER = 0x000,
        REG_CAP = 0x008,
        REG_ECAP = 0x010,
        REG_GCMD = 0x018,
        REG_GSTS = 0x01c,
        REG_RTADDR = 0x020,
        REG_CCMD = 0x028,
        REG_FSTS = 0x034,
        REG_FECTL = 0x038,
        REG_FEDATA = 0x03c,
        REG_FEADDR = 0x040,
        REG_FEUADDR = 0x044,
        REG_AFLOG = 0x058,
        REG_PMEN = 0x064,
        REG_PLMBASE = 0x068,
        REG_PLMLIMIT = 0x06c,
        REG_PHMBASE = 0x070,
        REG_PHMLIMIT = 0x078,
        REG_IQH = 0x080,
        REG_IQT = 0x088,
        REG_IQA = 0x090,
        REG_ICS = 0x09c,
        REG_IECTL = 0x0a0,
        REG_IEDATA = 0x0a4,
        REG_IEADDR = 0x0a8,
        REG_IEUADDR = 0x0ac,
        REG_IQERCD = 0x0b0,
        REG_IRTA = 0x0b8,
        REG_PQH = 0x0c0,
        REG_PQT = 0x0c8,
        REG_PQA = 0x0d0,
        REG_PRS = 0x0dc,
        REG_PECTL = 0x0e0,
        REG_PEDATA = 0x0e4,
        REG_PEADDR = 0x0e8,
        REG_PEUADDR = 0x0ec,
};

#define VER_FIELDS(X)                                                          \
        X(VER, MIN, 0, 4)                                                      \
        X(VER, MAX, 4, 4)
DEFINE_LAYOUT_FIELDS(VER, VER_FIELDS);

#define CAP_FIELDS(X)                                                          \
        X(CAP, ND, 0, 3)                                                       \
        X(CAP, AFL, 3, 1)                                                      \
        X(CAP, RWBF, 4, 1)                                                     \
        X(CAP, PLMR, 5, 1)                                                     \
        X(CAP, PHMR, 6, 1)                                                     \
        X(CAP, CM, 7, 1)                                                       \
        X(CAP, SAGAW, 8, 5)                                                    \
        X(CAP, MGAW, 16, 6)                                                    \
        X(CAP, ZLR, 22, 1)                                                     \
        X(CAP, ISOCH, 23, 1)                                                   \
        X(CAP, FRO, 24, 10)                                                    \
        X(CAP, SLLPS, 34, 4)                                                   \
        X(CAP, PSI, 39, 1)                                                     \
        X(CAP, NFR, 40, 8)                                                     \
        X(CAP, MAMV, 48, 6)                                                    \
        X(CAP, DWD, 54, 1)                                                     \
        X(CAP, DRD, 55, 1)                                                     \
        X(CAP, FS1GP, 56, 1)                                                   \
        X(CAP, PI, 59, 1)                                                      \
        X(CAP, FS5LP, 60, 1)                                                   \
        X(CAP, ECMDS, 61, 1)                                                   \
        X(CAP, ESIRTPS, 62, 1)                                                 \
        X(CAP, ESRTPS, 63, 1)
DEFINE_LAYOUT_FIELDS(CAP, CAP_FIELDS);

#define ECAP_FIELDS(X)                                                         \
        X(ECAP, C, 0, 1)                                                       \
        X(ECAP, QI, 1, 1)                                                      \
        X(ECAP, DT, 2, 1)                                                      \
        X(ECAP, IR, 3, 1)                                                      \
        X(ECAP, EIM, 4, 1)                                                     \
        X(ECAP, PT, 6, 1)                                                      \
        X(ECAP, SC, 7, 1)                                                      \
        X(ECAP, IRO, 8, 10)                                                    \
        X(ECAP, MHMV, 20, 4)                                                   \
        X(ECAP, MTS, 25, 1)                                                    \
        X(ECAP, NEST, 26, 1)                                                   \
        X(ECAP, PRS, 29, 1)                                                    \
        X(ECAP, ERS, 30, 1)                                                    \
        X(ECAP, SRS, 31, 1)                                                    \
        X(ECAP, NWFS, 33, 1)                                                   \
        X(ECAP, EAFS, 34, 1)                                                   \
        X(ECAP, PSS, 35, 5)                                                    \
        X(ECAP, PASID, 40, 1)                                                  \
        X(ECAP, DIT, 41, 1)                                                    \
        X(ECAP, PDS, 42, 1)                                                    \
        X(ECAP, SMTS, 43, 1)                                                   \
        X(ECAP, VCS, 44, 1)                                                    \
        X(ECAP, SSADS, 45, 1)                                                  \
        X(ECAP, SSTS, 46, 1)                                                   \
        X(ECAP, FSTS, 47, 1)                                                   \
        X(ECAP, SMPWCS, 48, 1)                                                 \
        X(ECAP, RPS, 49, 1)                                                    \
        X(ECAP, PMS, 51, 1)
DEFINE_LAYOUT_FIELDS(ECAP, ECAP_FIELDS);

extern const layout layout_ver, layout_cap, layout_ecap;

/* Every register layout, in offset order (layouts.c lists them with the
 * entry formats for lookup by name). */
extern const layout *const register_layouts[];
extern const size_t n_register_layouts;
