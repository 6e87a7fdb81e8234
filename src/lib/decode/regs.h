/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The VT-d register map (Intel VT-d specification, revision 4.1 / 5.0,
 * chapter 11): every register's offset and fields.  Bit positions are
 * written here once, in X-macro lists; the descriptor tables in regs.c give
 * each field its title, kind and meaning.
 *
 * Mnemonics follow the current specification: revision 3.4 renamed
 * "first-level"/"second-level" to "first-stage"/"second-stage", so CAP.FL1GP
 * is CAP.FS1GP, ECAP.FLTS/SLTS/SLADS are ECAP.FSTS/SSTS/SSADS.  The Linux
 * driver and older datasheets still use the old names for the same bits.
 * One exception: CAP bits 37:34 keep the name SLLPS (rev 3.4: SSLPS), the
 * name iommud's users and scripts already know it by (cap.sllps).
 *
 * A layout's .width is the access size the hardware defines for the
 * register: 32-bit registers (GCMD, GSTS, FSTS, FECTL, ...) must be read and
 * written 32 bits wide; QEMU's model stops the VM on a 64-bit access to them.
 */

#include "decode/field.h"
#include "decode/values.h" /* TTM, granularity and memory type values */

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
        REG_MTRRCAP = 0x100,
        REG_MTRRDEF = 0x108,
        REG_MTRR_FIX64K_00000 = 0x120,
        REG_MTRR_FIX16K_80000 = 0x128,
        REG_MTRR_FIX16K_A0000 = 0x130,
        REG_MTRR_FIX4K_C0000 = 0x138,
        REG_MTRR_FIX4K_C8000 = 0x140,
        REG_MTRR_FIX4K_D0000 = 0x148,
        REG_MTRR_FIX4K_D8000 = 0x150,
        REG_MTRR_FIX4K_E0000 = 0x158,
        REG_MTRR_FIX4K_E8000 = 0x160,
        REG_MTRR_FIX4K_F0000 = 0x168,
        REG_MTRR_FIX4K_F8000 = 0x170,
        REG_MTRR_PHYSBASE0 = 0x180, /* PHYSBASEn at 0x180 + 16n, n = 0..9 */
        REG_MTRR_PHYSMASK0 = 0x188, /* PHYSMASKn at 0x188 + 16n */
        REG_PERFCAP = 0x300,
        REG_PERFCFGOFF = 0x310,
        REG_PERFFRZOFF = 0x314,
        REG_PERFOVFOFF = 0x318,
        REG_PERFCNTROFF = 0x31c,
        REG_PERFINTRSTS = 0x324,
        REG_PERFINTRCTL = 0x328,
        REG_PERFEVNTCAP = 0x380, /* one per event group, 8 bytes apart */
        REG_ECMD = 0x400,
        REG_ECEO = 0x408,
        REG_ECRSP = 0x410,
        REG_ECCAP0 = 0x430, /* ECCAPn at 0x430 + 8n, n = 0..3 */
};

/* Offsets from ECAP.IRO * 16 and from CAP.FRO * 16. */
enum {
        IRO_IVA = 0x0,
        IRO_IOTLB = 0x8,
        FRO_FRCD = 0x0,
        FRCD_STRIDE = 16, /* one 128-bit record per fault-recording register */
        MTRR_PHYS_STRIDE = 16,
        ECCAP_STRIDE = 8,
        PERFEVNTCAP_STRIDE = 8,
};

#define VER_FIELDS(X)     \
        X(VER, MIN, 0, 4) \
        X(VER, MAX, 4, 4)
DEFINE_LAYOUT_FIELDS(VER, VER_FIELDS);

#define CAP_FIELDS(X)          \
        X(CAP, ND, 0, 3)       \
        X(CAP, AFL, 3, 1)      \
        X(CAP, RWBF, 4, 1)     \
        X(CAP, PLMR, 5, 1)     \
        X(CAP, PHMR, 6, 1)     \
        X(CAP, CM, 7, 1)       \
        X(CAP, SAGAW, 8, 5)    \
        X(CAP, MGAW, 16, 6)    \
        X(CAP, ZLR, 22, 1)     \
        X(CAP, ISOCH, 23, 1)   \
        X(CAP, FRO, 24, 10)    \
        X(CAP, SLLPS, 34, 4)   \
        X(CAP, PSI, 39, 1)     \
        X(CAP, NFR, 40, 8)     \
        X(CAP, MAMV, 48, 6)    \
        X(CAP, DWD, 54, 1)     \
        X(CAP, DRD, 55, 1)     \
        X(CAP, FS1GP, 56, 1)   \
        X(CAP, PI, 59, 1)      \
        X(CAP, FS5LP, 60, 1)   \
        X(CAP, ECMDS, 61, 1)   \
        X(CAP, ESIRTPS, 62, 1) \
        X(CAP, ESRTPS, 63, 1)
DEFINE_LAYOUT_FIELDS(CAP, CAP_FIELDS);

/* Bits 5, 24, 27, 32 and 44 are deprecated (read as 0 on current hardware)
 * but still decoded for older units; bit 28 (the pre-2.3 PASID position) is
 * left reserved. */
#define ECAP_FIELDS(X)         \
        X(ECAP, C, 0, 1)       \
        X(ECAP, QI, 1, 1)      \
        X(ECAP, DT, 2, 1)      \
        X(ECAP, IR, 3, 1)      \
        X(ECAP, EIM, 4, 1)     \
        X(ECAP, CH, 5, 1)      \
        X(ECAP, PT, 6, 1)      \
        X(ECAP, SC, 7, 1)      \
        X(ECAP, IRO, 8, 10)    \
        X(ECAP, MHMV, 20, 4)   \
        X(ECAP, ECS, 24, 1)    \
        X(ECAP, MTS, 25, 1)    \
        X(ECAP, NEST, 26, 1)   \
        X(ECAP, DIS, 27, 1)    \
        X(ECAP, PRS, 29, 1)    \
        X(ECAP, ERS, 30, 1)    \
        X(ECAP, SRS, 31, 1)    \
        X(ECAP, POT, 32, 1)    \
        X(ECAP, NWFS, 33, 1)   \
        X(ECAP, EAFS, 34, 1)   \
        X(ECAP, PSS, 35, 5)    \
        X(ECAP, PASID, 40, 1)  \
        X(ECAP, DIT, 41, 1)    \
        X(ECAP, PDS, 42, 1)    \
        X(ECAP, SMTS, 43, 1)   \
        X(ECAP, VCS, 44, 1)    \
        X(ECAP, SSADS, 45, 1)  \
        X(ECAP, SSTS, 46, 1)   \
        X(ECAP, FSTS, 47, 1)   \
        X(ECAP, SMPWCS, 48, 1) \
        X(ECAP, RPS, 49, 1)    \
        X(ECAP, TDXIO, 50, 1)  \
        X(ECAP, PMS, 51, 1)    \
        X(ECAP, ADMS, 52, 1)   \
        X(ECAP, RPRIVS, 53, 1)
DEFINE_LAYOUT_FIELDS(ECAP, ECAP_FIELDS);

#define GCMD_FIELDS(X)        \
        X(GCMD, CFI, 23, 1)   \
        X(GCMD, SIRTP, 24, 1) \
        X(GCMD, IRE, 25, 1)   \
        X(GCMD, QIE, 26, 1)   \
        X(GCMD, WBF, 27, 1)   \
        X(GCMD, EAFL, 28, 1)  \
        X(GCMD, SFL, 29, 1)   \
        X(GCMD, SRTP, 30, 1)  \
        X(GCMD, TE, 31, 1)
DEFINE_LAYOUT_FIELDS(GCMD, GCMD_FIELDS);

#define GSTS_FIELDS(X)        \
        X(GSTS, CFIS, 23, 1)  \
        X(GSTS, IRTPS, 24, 1) \
        X(GSTS, IRES, 25, 1)  \
        X(GSTS, QIES, 26, 1)  \
        X(GSTS, WBFS, 27, 1)  \
        X(GSTS, AFLS, 28, 1)  \
        X(GSTS, FLS, 29, 1)   \
        X(GSTS, RTPS, 30, 1)  \
        X(GSTS, TES, 31, 1)
DEFINE_LAYOUT_FIELDS(GSTS, GSTS_FIELDS);

#define RTADDR_FIELDS(X)      \
        X(RTADDR, TTM, 10, 2) \
        X(RTADDR, RTA, 12, 52)
DEFINE_LAYOUT_FIELDS(RTADDR, RTADDR_FIELDS);

#define CCMD_FIELDS(X)       \
        X(CCMD, DID, 0, 16)  \
        X(CCMD, SID, 16, 16) \
        X(CCMD, FM, 32, 2)   \
        X(CCMD, CAIG, 59, 2) \
        X(CCMD, CIRG, 61, 2) \
        X(CCMD, ICC, 63, 1)
DEFINE_LAYOUT_FIELDS(CCMD, CCMD_FIELDS);

/* Bit 7 was PRO (page request overflow) before revision 3; it is now PRS_REG.PRO. */
#define FSTS_FIELDS(X)     \
        X(FSTS, PFO, 0, 1) \
        X(FSTS, PPF, 1, 1) \
        X(FSTS, AFO, 2, 1) \
        X(FSTS, APF, 3, 1) \
        X(FSTS, IQE, 4, 1) \
        X(FSTS, ICE, 5, 1) \
        X(FSTS, ITE, 6, 1) \
        X(FSTS, PRO, 7, 1) \
        X(FSTS, FRI, 8, 8)
DEFINE_LAYOUT_FIELDS(FSTS, FSTS_FIELDS);

/*
 * The three event-interrupt register groups (fault, invalidation completion,
 * page request) and the perfmon interrupt control have the same control,
 * data and address layouts.  The positions are written once here and
 * instantiated per register, so FIELD_GET(FECTL, IM, ...) and
 * FIELD_GET(PECTL, IM, ...) both exist.
 */
#define EVENT_CTL_FIELDS(X, L) \
        X(L, IP, 30, 1)        \
        X(L, IM, 31, 1)
/* EIMD (31:16) is reserved since revision 3.3 (2021): 16-bit MSI data only. */
#define EVENT_DATA_FIELDS(X, L) \
        X(L, IMD, 0, 16)        \
        X(L, EIMD, 16, 16)
#define EVENT_ADDR_FIELDS(X, L) X(L, MA, 2, 30)
#define EVENT_UADDR_FIELDS(X, L) X(L, MUA, 0, 32)

#define FECTL_FIELDS(X) EVENT_CTL_FIELDS(X, FECTL)
#define FEDATA_FIELDS(X) EVENT_DATA_FIELDS(X, FEDATA)
#define FEADDR_FIELDS(X) EVENT_ADDR_FIELDS(X, FEADDR)
#define FEUADDR_FIELDS(X) EVENT_UADDR_FIELDS(X, FEUADDR)
DEFINE_LAYOUT_FIELDS(FECTL, FECTL_FIELDS);
DEFINE_LAYOUT_FIELDS(FEDATA, FEDATA_FIELDS);
DEFINE_LAYOUT_FIELDS(FEADDR, FEADDR_FIELDS);
DEFINE_LAYOUT_FIELDS(FEUADDR, FEUADDR_FIELDS);

#define AFLOG_FIELDS(X)     \
        X(AFLOG, FLS, 9, 3) \
        X(AFLOG, FLA, 12, 52)
DEFINE_LAYOUT_FIELDS(AFLOG, AFLOG_FIELDS);

#define PMEN_FIELDS(X)     \
        X(PMEN, PRS, 0, 1) \
        X(PMEN, EPM, 31, 1)
DEFINE_LAYOUT_FIELDS(PMEN, PMEN_FIELDS);

/* The protected-memory base and limit fields start at an implementation-
 * chosen bit N+1 with N >= 20 (2 MiB granularity); bits 20:0 are always
 * reserved, so the fields are described from bit 21. */
#define PLMBASE_FIELDS(X) X(PLMBASE, PLMB, 21, 11)
#define PLMLIMIT_FIELDS(X) X(PLMLIMIT, PLML, 21, 11)
#define PHMBASE_FIELDS(X) X(PHMBASE, PHMB, 21, 43)
#define PHMLIMIT_FIELDS(X) X(PHMLIMIT, PHML, 21, 43)
DEFINE_LAYOUT_FIELDS(PLMBASE, PLMBASE_FIELDS);
DEFINE_LAYOUT_FIELDS(PLMLIMIT, PLMLIMIT_FIELDS);
DEFINE_LAYOUT_FIELDS(PHMBASE, PHMBASE_FIELDS);
DEFINE_LAYOUT_FIELDS(PHMLIMIT, PHMLIMIT_FIELDS);

/* Head and tail hold a byte offset into the queue, in 16-byte units (bit 4
 * is 0 with 256-bit descriptors). */
#define IQH_FIELDS(X) X(IQH, QH, 4, 15)
#define IQT_FIELDS(X) X(IQT, QT, 4, 15)
DEFINE_LAYOUT_FIELDS(IQH, IQH_FIELDS);
DEFINE_LAYOUT_FIELDS(IQT, IQT_FIELDS);

#define IQA_FIELDS(X)     \
        X(IQA, QS, 0, 3)  \
        X(IQA, DW, 11, 1) \
        X(IQA, IQA, 12, 52)
DEFINE_LAYOUT_FIELDS(IQA, IQA_FIELDS);

#define ICS_FIELDS(X) X(ICS, IWC, 0, 1)
DEFINE_LAYOUT_FIELDS(ICS, ICS_FIELDS);

#define IECTL_FIELDS(X) EVENT_CTL_FIELDS(X, IECTL)
#define IEDATA_FIELDS(X) EVENT_DATA_FIELDS(X, IEDATA)
#define IEADDR_FIELDS(X) EVENT_ADDR_FIELDS(X, IEADDR)
#define IEUADDR_FIELDS(X) EVENT_UADDR_FIELDS(X, IEUADDR)
DEFINE_LAYOUT_FIELDS(IECTL, IECTL_FIELDS);
DEFINE_LAYOUT_FIELDS(IEDATA, IEDATA_FIELDS);
DEFINE_LAYOUT_FIELDS(IEADDR, IEADDR_FIELDS);
DEFINE_LAYOUT_FIELDS(IEUADDR, IEUADDR_FIELDS);

#define IQERCD_FIELDS(X)          \
        X(IQERCD, IQEI, 0, 4)     \
        X(IQERCD, ITESID, 32, 16) \
        X(IQERCD, ICESID, 48, 16)
DEFINE_LAYOUT_FIELDS(IQERCD, IQERCD_FIELDS);

#define IRTA_FIELDS(X)       \
        X(IRTA, S, 0, 4)     \
        X(IRTA, EIME, 11, 1) \
        X(IRTA, IRTA, 12, 52)
DEFINE_LAYOUT_FIELDS(IRTA, IRTA_FIELDS);

/* Page request queue head and tail: index of a 32-byte descriptor. */
#define PQH_FIELDS(X) X(PQH, PQH, 5, 14)
#define PQT_FIELDS(X) X(PQT, PQT, 5, 14)
DEFINE_LAYOUT_FIELDS(PQH, PQH_FIELDS);
DEFINE_LAYOUT_FIELDS(PQT, PQT_FIELDS);

#define PQA_FIELDS(X)     \
        X(PQA, PQS, 0, 3) \
        X(PQA, PQA, 12, 52)
DEFINE_LAYOUT_FIELDS(PQA, PQA_FIELDS);

#define PRS_FIELDS(X)     \
        X(PRS, PPR, 0, 1) \
        X(PRS, PRO, 1, 1)
DEFINE_LAYOUT_FIELDS(PRS, PRS_FIELDS);

#define PECTL_FIELDS(X) EVENT_CTL_FIELDS(X, PECTL)
#define PEDATA_FIELDS(X) EVENT_DATA_FIELDS(X, PEDATA)
#define PEADDR_FIELDS(X) EVENT_ADDR_FIELDS(X, PEADDR)
#define PEUADDR_FIELDS(X) EVENT_UADDR_FIELDS(X, PEUADDR)
DEFINE_LAYOUT_FIELDS(PECTL, PECTL_FIELDS);
DEFINE_LAYOUT_FIELDS(PEDATA, PEDATA_FIELDS);
DEFINE_LAYOUT_FIELDS(PEADDR, PEADDR_FIELDS);
DEFINE_LAYOUT_FIELDS(PEUADDR, PEUADDR_FIELDS);

#define MTRRCAP_FIELDS(X)      \
        X(MTRRCAP, VCNT, 0, 8) \
        X(MTRRCAP, FIX, 8, 1)  \
        X(MTRRCAP, WC, 10, 1)
DEFINE_LAYOUT_FIELDS(MTRRCAP, MTRRCAP_FIELDS);

#define MTRRDEF_FIELDS(X)      \
        X(MTRRDEF, TYPE, 0, 8) \
        X(MTRRDEF, FE, 10, 1)  \
        X(MTRRDEF, E, 11, 1)
DEFINE_LAYOUT_FIELDS(MTRRDEF, MTRRDEF_FIELDS);

/* The eleven fixed-range MTRRs share one layout: eight memory-type bytes,
 * R0 for the lowest sub-range. */
#define MTRR_FIX_FIELDS(X)     \
        X(MTRR_FIX, R0, 0, 8)  \
        X(MTRR_FIX, R1, 8, 8)  \
        X(MTRR_FIX, R2, 16, 8) \
        X(MTRR_FIX, R3, 24, 8) \
        X(MTRR_FIX, R4, 32, 8) \
        X(MTRR_FIX, R5, 40, 8) \
        X(MTRR_FIX, R6, 48, 8) \
        X(MTRR_FIX, R7, 56, 8)
DEFINE_LAYOUT_FIELDS(MTRR_FIX, MTRR_FIX_FIELDS);

#define MTRR_PHYSBASE_FIELDS(X)      \
        X(MTRR_PHYSBASE, TYPE, 0, 8) \
        X(MTRR_PHYSBASE, PHYSBASE, 12, 52)
DEFINE_LAYOUT_FIELDS(MTRR_PHYSBASE, MTRR_PHYSBASE_FIELDS);

#define MTRR_PHYSMASK_FIELDS(X)    \
        X(MTRR_PHYSMASK, V, 11, 1) \
        X(MTRR_PHYSMASK, PHYSMASK, 12, 52)
DEFINE_LAYOUT_FIELDS(MTRR_PHYSMASK, MTRR_PHYSMASK_FIELDS);

/* Performance monitoring (revision 4.0): positions as the Linux perfmon
 * driver decodes them. */
#define PERFCAP_FIELDS(X)          \
        X(PERFCAP, NUMCNTR, 0, 16) \
        X(PERFCAP, CW, 16, 7)      \
        X(PERFCAP, EGCNT, 24, 5)   \
        X(PERFCAP, FILTERS, 32, 5) \
        X(PERFCAP, GFS, 49, 1)     \
        X(PERFCAP, IOS, 50, 1)     \
        X(PERFCAP, PCC, 51, 1)     \
        X(PERFCAP, CS, 52, 3)
DEFINE_LAYOUT_FIELDS(PERFCAP, PERFCAP_FIELDS);

/* PERFCFGOFF, PERFFRZOFF, PERFOVFOFF, PERFCNTROFF: where a register block
 * sits, as an offset from the unit's register base. */
#define PERFOFF_FIELDS(X) X(PERFOFF, OFF, 0, 32)
DEFINE_LAYOUT_FIELDS(PERFOFF, PERFOFF_FIELDS);

#define PERFINTRSTS_FIELDS(X) X(PERFINTRSTS, PIS, 0, 1)
DEFINE_LAYOUT_FIELDS(PERFINTRSTS, PERFINTRSTS_FIELDS);

#define PERFINTRCTL_FIELDS(X) EVENT_CTL_FIELDS(X, PERFINTRCTL)
DEFINE_LAYOUT_FIELDS(PERFINTRCTL, PERFINTRCTL_FIELDS);

#define PERFEVNTCAP_FIELDS(X) X(PERFEVNTCAP, ES, 0, 28)
DEFINE_LAYOUT_FIELDS(PERFEVNTCAP, PERFEVNTCAP_FIELDS);

/* Enhanced command interface (revision 4.0, CAP.ECMDS). */
#define ECMD_FIELDS(X)     \
        X(ECMD, CMD, 0, 8) \
        X(ECMD, OA, 16, 48)
DEFINE_LAYOUT_FIELDS(ECMD, ECMD_FIELDS);

/* ECMD.CMD values the perfmon driver uses. */
enum {
        ECMD_ENABLE_COUNTERS = 0xf0,
        ECMD_DISABLE_COUNTERS = 0xf1,
        ECMD_FREEZE_COUNTERS = 0xf4,
        ECMD_UNFREEZE_COUNTERS = 0xf5,
};

#define ECEO_FIELDS(X) X(ECEO, OB, 0, 64)
DEFINE_LAYOUT_FIELDS(ECEO, ECEO_FIELDS);

#define ECRSP_FIELDS(X)    \
        X(ECRSP, IP, 0, 1) \
        X(ECRSP, SC, 1, 7)
DEFINE_LAYOUT_FIELDS(ECRSP, ECRSP_FIELDS);

/* ECCAPn bit b reports support for enhanced command 64n + b.  Only the
 * counter commands (0xf0..0xf5, in ECCAP3) are named; other bits of ECCAP3
 * decode as reserved. */
#define ECCAP_FIELDS(X) X(ECCAP, CMDS, 0, 64)
DEFINE_LAYOUT_FIELDS(ECCAP, ECCAP_FIELDS);

#define ECCAP3_FIELDS(X)        \
        X(ECCAP3, ECNTS, 48, 1) \
        X(ECCAP3, DCNTS, 49, 1) \
        X(ECCAP3, FCNTS, 52, 1) \
        X(ECCAP3, UFCNTS, 53, 1)
DEFINE_LAYOUT_FIELDS(ECCAP3, ECCAP3_FIELDS);

/* At ECAP.IRO * 16. */
#define IVA_FIELDS(X)    \
        X(IVA, AM, 0, 6) \
        X(IVA, IH, 6, 1) \
        X(IVA, ADDR, 12, 52)
DEFINE_LAYOUT_FIELDS(IVA, IVA_FIELDS);

#define IOTLB_FIELDS(X)       \
        X(IOTLB, DID, 32, 16) \
        X(IOTLB, DW, 48, 1)   \
        X(IOTLB, DR, 49, 1)   \
        X(IOTLB, IAIG, 57, 2) \
        X(IOTLB, IIRG, 60, 2) \
        X(IOTLB, IVT, 63, 1)
DEFINE_LAYOUT_FIELDS(IOTLB, IOTLB_FIELDS);

/*
 * One 128-bit fault record at CAP.FRO * 16 + 16 * index.  Software clears F
 * by writing 1 with a 32-bit access to the top dword (offset 12).
 */
#define FRCD_FIELDS(X)       \
        X(FRCD, FI, 12, 52)  \
        X(FRCD, SID, 64, 16) \
        X(FRCD, T2, 92, 1)   \
        X(FRCD, PRIV, 93, 1) \
        X(FRCD, EXE, 94, 1)  \
        X(FRCD, PP, 95, 1)   \
        X(FRCD, FR, 96, 8)   \
        X(FRCD, PV, 104, 20) \
        X(FRCD, AT, 124, 2)  \
        X(FRCD, T1, 126, 1)  \
        X(FRCD, F, 127, 1)
DEFINE_LAYOUT_FIELDS(FRCD, FRCD_FIELDS);

/* FRCD.FR fault reasons the code acts on; regs.c names all known codes
 * (legacy 0x01..0x0e, interrupt remapping 0x20..0x28, scalable mode
 * 0x30..0x90). */
enum {
        FR_ROOT_NOT_PRESENT = 0x01,
        FR_CONTEXT_NOT_PRESENT = 0x02,
        FR_CONTEXT_INVALID = 0x03,
        FR_ADDRESS_BEYOND_MGAW = 0x04,
        FR_WRITE = 0x05,
        FR_READ = 0x06,
        FR_SM_WRITE = 0x85,
        FR_SM_READ = 0x86,
};

/* The fault reason's short meaning, or NULL when the code is not known. */
const char *fault_reason_to_string(unsigned reason) _pure_;

extern const layout layout_ver, layout_cap, layout_ecap, layout_gcmd, layout_gsts, layout_rtaddr,
        layout_ccmd, layout_fsts, layout_fectl, layout_fedata, layout_feaddr, layout_feuaddr, layout_aflog,
        layout_pmen, layout_plmbase, layout_plmlimit, layout_phmbase, layout_phmlimit, layout_iqh,
        layout_iqt, layout_iqa, layout_ics, layout_iectl, layout_iedata, layout_ieaddr, layout_ieuaddr,
        layout_iqercd, layout_irta, layout_pqh, layout_pqt, layout_pqa, layout_prs, layout_pectl,
        layout_pedata, layout_peaddr, layout_peuaddr, layout_mtrrcap, layout_mtrrdef,
        layout_mtrr_fix64k_00000, layout_mtrr_fix16k_80000, layout_mtrr_fix16k_a0000,
        layout_mtrr_fix4k_c0000, layout_mtrr_fix4k_c8000, layout_mtrr_fix4k_d0000, layout_mtrr_fix4k_d8000,
        layout_mtrr_fix4k_e0000, layout_mtrr_fix4k_e8000, layout_mtrr_fix4k_f0000, layout_mtrr_fix4k_f8000,
        layout_perfcap, layout_perfcfgoff, layout_perffrzoff, layout_perfovfoff, layout_perfcntroff,
        layout_perfintrsts, layout_perfintrctl, layout_perfevntcap, layout_ecmd, layout_eceo, layout_ecrsp,
        layout_eccap0, layout_eccap1, layout_eccap2, layout_eccap3, layout_iva, layout_iotlb, layout_frcd;
/* MTRR_PHYSBASEn / MTRR_PHYSMASKn, n = 0..9. */
extern const layout layout_mtrr_physbase[10], layout_mtrr_physmask[10];

/* Every register layout: the fixed registers in offset order, then IVA and
 * IOTLB (at ECAP.IRO) and FRCD (at CAP.FRO).  layouts.c lists them with the
 * entry formats for lookup by name. */
extern const layout *const register_layouts[];
extern const size_t n_register_layouts;
