/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A simulated remapping unit: an iommu_regs backend that behaves like the
 * VT-d register interface (specification rev 4.x, chapter 11 and 6.5), so
 * the control layer can be tested without hardware.  QEMU's
 * hw/i386/intel_iommu.c is the model it was compared with; where QEMU and
 * the specification part, the comment at the behaviour says which one the
 * simulation follows.
 *
 * The unit has the VER, CAP and ECAP a test chooses and works on an
 * in-memory image (iommu_ram_new_image) that stands for the machine's
 * memory: descriptors are fetched from it, wait status words written into
 * it.  Everything happens at once: a command's status is set, a queue is
 * drained, by the write that asks for it.
 *
 * Accesses: 32-bit registers only 32 bits wide, 64-bit and 128-bit ones
 * as aligned quadwords or dwords (spec 10.2); a wrong width, a misaligned
 * or an out-of-window access is refused with -EINVAL and recorded as a
 * violation (QEMU stops the guest).  Registers the unit does not have
 * (CAP/ECAP, decode/regs.h .requires) read 0 and ignore writes.
 *
 * Beside the registers, what a test looks at: every write, every
 * invalidation performed or refused, every breach of the programming
 * protocol, as recorded lists; faults it injects; knobs that make the unit
 * misbehave like broken hardware.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "access/access.h"
#include "basic/error.h"
#include "decode/invq.h"

typedef struct regs_sim_config {
        uint64_t base; /* the register set's physical address (only reported) */
        uint64_t size; /* the window in bytes; 0: 4096 */
        uint32_t ver;
        uint64_t cap;
        uint64_t ecap;
        /* Keep no list of writes and invalidations (regs_sim_writes() and
         * regs_sim_invalidations() return none): a unit that runs for
         * days (iommud --simulate) would grow by them without end. */
        bool no_log;
        /* Where the unit keeps its hardware state (below, "A unit that
         * outlives the process"): regs_sim_persist_size() bytes, 8-byte
         * aligned, e.g. a file mapped MAP_SHARED; it stays the caller's and
         * must outlive the unit.  NULL: memory of the unit's own. */
        void *persist;
        /* persist holds what an earlier unit of this VER, CAP, ECAP and
         * window left: this one goes on from there, every register and
         * everything latched as it was.  EINVAL with a sentence when it
         * holds something else; nothing is written to it then.  False:
         * persist is overwritten with a unit at reset. */
        bool resume;
} regs_sim_config;

/* ram must be an in-memory image and outlive the unit.  EINVAL with a
 * sentence when it is not, or when the IVA/IOTLB (ECAP.IRO) or fault
 * recording registers (CAP.FRO, CAP.NFR) fall outside the window or on
 * another register. */
int iommu_regs_new_sim(const regs_sim_config *cfg, iommu_ram *ram, iommu_regs **ret, iommu_error *err);

/* ---- a unit that outlives the process ---- */

/* regs_sim_config.persist holds everything that is the unit's hardware
 * state: its registers as software reads them, and what it latched
 * (regs_sim_state, the next fault record, a pending ITE); not what a test
 * set (stalled waits, failing reads, an error for the next descriptor) nor
 * the logs.  A register write, an injected fault and a queue run on
 * stall_waits(false) each change it whole or not at all, even when the
 * process is killed in the middle (SIGKILL), as hardware's own writes:
 * every change is made to a copy not in force, which then takes over with
 * one aligned store.  Reads copy nothing.  The layout, in the machine's
 * byte order:
 *
 *   0    "VTDUNIT\0", u32 format version (1), u32 the window's size,
 *        u32 VER, u32 the size of a copy (the window's + 256),
 *        u64 CAP, u64 ECAP,
 *   40   u32 the copy in force, 0 or 1 (REGS_SIM_PERSIST_ACTIVE);
 *   64   copy 0, then copy 1: each the register window (GSTS at +0x1c,
 *        RTADDR at +0x20, ...), then 256 bytes of latched state. */
#define REGS_SIM_PERSIST_HEAD 64u
#define REGS_SIM_PERSIST_ACTIVE 40u
#define REGS_SIM_PERSIST_LATCHED 256u

/* The bytes persist needs for cfg's window; 0 for a window that cannot be
 * simulated. */
size_t regs_sim_persist_size(const regs_sim_config *cfg);

/* The hooks below take the iommu_regs the constructor returned; on any
 * other backend they return NULL, 0 or -EINVAL. */

/* ---- what software wrote ---- */

typedef struct regs_sim_write {
        uint32_t offset;
        unsigned width;
        uint64_t value;
        bool refused; /* a bad access, or dropped by a unit that reads all ones */
} regs_sim_write;

const regs_sim_write *regs_sim_writes(iommu_regs *r, size_t *ret_n);
/* Reads, counted (a polling loop shows as many). */
uint64_t regs_sim_reads(iommu_regs *r);

/* ---- invalidations ---- */

typedef enum regs_sim_via {
        REGS_SIM_VIA_REGISTER, /* CCMD, IOTLB */
        REGS_SIM_VIA_QUEUE,    /* a descriptor */
        REGS_SIM_VIA_SRTP,     /* implied by SRTP with CAP.ESRTPS, SIRTP with CAP.ESIRTPS */
        _REGS_SIM_VIA_MAX,
        _REGS_SIM_VIA_INVALID = -EINVAL,
} regs_sim_via;

const char *regs_sim_via_to_string(regs_sim_via v) _const_;

typedef enum regs_sim_outcome {
        REGS_SIM_DONE,
        REGS_SIM_WIDENED,   /* done at a coarser granularity (page-selective without CAP.PSI) */
        REGS_SIM_REFUSED,   /* not done: CAIG/IAIG 0 (reserved granularity, AM > MAMV, QI on) */
        REGS_SIM_TIMED_OUT, /* sent, but the device never answered (an injected ITE) */
        REGS_SIM_ABORTED,   /* a wait the ITE aborted: no status write, no IWC */
        _REGS_SIM_OUTCOME_MAX,
        _REGS_SIM_OUTCOME_INVALID = -EINVAL,
} regs_sim_outcome;

const char *regs_sim_outcome_to_string(regs_sim_outcome o) _const_;

/* One invalidation.  Fields a kind does not have are 0. */
typedef struct regs_sim_inv {
        inv_kind kind;
        regs_sim_via via;
        regs_sim_outcome outcome;
        /* Requested and performed granularity, in the kind's encoding
         * (inv_granularity_to_string()): CIRG and CAIG, IIRG and IAIG, or
         * the descriptor's G (device-TLB: S) twice, unless widened. */
        unsigned granularity;
        unsigned performed;
        uint16_t did;
        uint16_t sid;
        uint8_t fm;
        uint64_t addr; /* IOTLB, device-TLB: the page; wait: the status address */
        uint8_t am;
        bool ih;
        uint32_t pasid;
        bool dr, dw;           /* drain reads / writes as requested */
        bool global;           /* PASID device-TLB: G */
        uint16_t iidx;         /* interrupt entry cache */
        uint8_t im;            /* interrupt entry cache */
        bool sw, irq, fence;   /* wait: SW, IF, FN */
        uint32_t status;       /* wait: STDATA */
        uint32_t queue_offset; /* queue: the descriptor's byte offset (IQH when fetched) */
        uint64_t raw[4];       /* the descriptor; register: CCMD, or IOTLB and IVA */
} regs_sim_inv;

const regs_sim_inv *regs_sim_invalidations(iommu_regs *r, size_t *ret_n);

/* ---- the programming protocol ---- */

typedef enum regs_sim_violation_kind {
        REGS_SIM_BAD_ACCESS,        /* width, alignment, window */
        REGS_SIM_GCMD_MULTIPLE,     /* more than one command in one GCMD write */
        REGS_SIM_NOT_SUPPORTED,     /* a command or mode CAP/ECAP says the unit lacks */
        REGS_SIM_TE_WITHOUT_ROOT,   /* TE before SRTP */
        REGS_SIM_IRE_WITHOUT_TABLE, /* IRE before SIRTP */
        REGS_SIM_QIE_TAIL_NOT_ZERO, /* QIE set while IQT != 0 */
        REGS_SIM_QIE_DISABLE_BUSY,  /* QIE cleared while IQH != IQT: refused */
        REGS_SIM_IQA_WHILE_ENABLED, /* IQA written while QIES */
        REGS_SIM_REGISTER_INV_QI,   /* CCMD/IOTLB invalidation while QIES: refused */
        REGS_SIM_REGISTER_INV_MODE, /* CCMD/IOTLB invalidation outside legacy mode: refused */
        REGS_SIM_BAD_GRANULARITY,   /* reserved CIRG/IIRG, AM > MAMV: refused */
        REGS_SIM_ADDRESS_UNALIGNED, /* a page-selective address not aligned to 2^AM pages */
        REGS_SIM_RESERVED_TTM,      /* SRTP with RTADDR.TTM 11b */
        _REGS_SIM_VIOLATION_KIND_MAX,
        _REGS_SIM_VIOLATION_KIND_INVALID = -EINVAL,
} regs_sim_violation_kind;

const char *regs_sim_violation_kind_to_string(regs_sim_violation_kind k) _const_;

typedef struct regs_sim_violation {
        regs_sim_violation_kind kind;
        char text[200]; /* one sentence saying what software did */
} regs_sim_violation;

const regs_sim_violation *regs_sim_violations(iommu_regs *r, size_t *ret_n);

/* ---- what the unit latched ---- */

typedef struct regs_sim_state {
        uint64_t root; /* RTADDR as latched by the last SRTP */
        unsigned n_srtp;
        uint64_t irta; /* IRTA as latched by the last SIRTP */
        unsigned n_sirtp;
        unsigned n_wbf; /* write-buffer flushes (CAP.RWBF) */
        bool qi_enabled;
        uint64_t queue_base;            /* IQA as latched when QIE was set */
        uint32_t queue_size;            /* bytes */
        bool queue_256;                 /* IQA.DW */
        unsigned fault_interrupts;      /* fault events sent (FECTL.IM clear) */
        unsigned completion_interrupts; /* invalidation completion events sent */
        unsigned faults_dropped;        /* injected while PFO or every record full */
        bool dead;                      /* reads return all ones */
} regs_sim_state;

int regs_sim_get_state(iommu_regs *r, regs_sim_state *ret);

/* ---- faults ---- */

typedef enum regs_sim_fault_type {
        REGS_SIM_FAULT_WRITE,        /* T2 0, T1 0 */
        REGS_SIM_FAULT_READ,         /* T2 0, T1 1 */
        REGS_SIM_FAULT_PAGE_REQUEST, /* T2 1, T1 0 */
        REGS_SIM_FAULT_ATOMIC,       /* T2 1, T1 1 */
        _REGS_SIM_FAULT_TYPE_MAX,
        _REGS_SIM_FAULT_TYPE_INVALID = -EINVAL,
} regs_sim_fault_type;

typedef struct regs_sim_fault {
        uint16_t sid;
        uint64_t addr; /* FI: bits 63:12 are recorded */
        regs_sim_fault_type type;
        uint8_t reason; /* FR */
        bool pasid_present;
        uint32_t pasid;
        bool exe, priv;
        uint8_t at; /* address type */
} regs_sim_fault;

/* Primary fault logging (spec 7.2.1): the record at the unit's next index
 * gets the fault and F, FSTS.PPF follows, FRI names the record when PPF
 * rises, the index moves on (wrapping after CAP.NFR).  With PFO set, or the
 * next record still holding a fault, it is dropped and PFO set (as QEMU
 * does).  Returns the record's index, -ENOSPC when dropped, -EINVAL for a
 * bad fault. */
int regs_sim_inject_fault(iommu_regs *r, const regs_sim_fault *f);

/* ---- misbehaviour ---- */

/* While on, the queue stops at every invalidation wait descriptor: IQH
 * stays on it, no status is written, IWC is not set, later descriptors
 * wait.  Turning it off completes the wait and drains the queue. */
void regs_sim_stall_waits(iommu_regs *r, bool on);

typedef enum regs_sim_error {
        REGS_SIM_ERROR_NONE,
        REGS_SIM_ERROR_IQE, /* the next descriptor cannot be fetched: IQE, IQEI 2 */
        REGS_SIM_ERROR_ITE, /* the next descriptor's device never answers: ITE */
        REGS_SIM_ERROR_ICE, /* the next descriptor's device answers wrongly: ICE */
        _REGS_SIM_ERROR_MAX,
        _REGS_SIM_ERROR_INVALID = -EINVAL,
} regs_sim_error;

/* Report e on the next descriptor processed; sid goes to IQERCD.ITESID or
 * ICESID.  ITE: the descriptor is sent and recorded as timed out,
 * processing goes on to the next wait descriptor, which is aborted, IQH
 * points past it and nothing more is fetched until software clears ITE.
 * ICE: the descriptor is done, ICE is set, processing goes on.  IQE: IQH
 * stays on the descriptor, nothing more is fetched until software clears
 * IQE. */
void regs_sim_fail_next(iommu_regs *r, regs_sim_error e, uint16_t sid);

/* While on, every register read fails (EIO), as a read through a broken
 * mapping does; writes still take effect. */
void regs_sim_fail_reads(iommu_regs *r, bool on);

/* After n more reads (0: from now), every read returns all ones and writes
 * have no effect, like a unit gone from the bus.  UINT64_MAX: never. */
void regs_sim_die_after_reads(iommu_regs *r, uint64_t n);

/* IQERCD.IQEI values (spec 11.4.9.9). */
enum {
        IQEI_INFO_NOT_AVAILABLE = 0,
        IQEI_INVALID_TAIL = 1,
        IQEI_FETCH_ERROR = 2,
        IQEI_INVALID_TYPE = 3,
        IQEI_RESERVED_FIELD = 4,
        IQEI_INVALID_WIDTH = 5,
};
