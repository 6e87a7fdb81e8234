/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The simulated remapping unit (regs-sim.h).  One byte array holds every
 * register as software reads it (two, one in force: a change is made to
 * the other, change_begin()); a write goes through the register's rule
 * (which bits it may change, which it clears by writing 1) and then its
 * behaviour: GCMD commands, register-based invalidation, the invalidation
 * queue, fault status.  Positions come from decode/regs.h and
 * decode/invq.h; which registers a unit has, where IVA/IOTLB and the fault
 * records sit and how wide each register is come from decode's register
 * layouts.
 */
#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "access/regs-sim.h"
#include "basic/alloc-util.h"
#include "decode/layouts.h"
#include "decode/regs.h"

#define SIM_DEFAULT_SIZE 4096u
#define SIM_MAX_SIZE (1024u * 1024)

#define BIT32(L, F) ((uint32_t) FIELD_MASK64(L, F))
#define BIT64(L, F) FIELD_MASK64(L, F)

/* GCMD bits that stay as written (mirrored in GSTS at the same position)
 * and those that ask for one operation each. */
#define GCMD_PERSISTENT \
        (BIT32(GCMD, TE) | BIT32(GCMD, QIE) | BIT32(GCMD, IRE) | BIT32(GCMD, CFI) | BIT32(GCMD, EAFL))
#define GCMD_ONE_SHOT (BIT32(GCMD, SRTP) | BIT32(GCMD, SFL) | BIT32(GCMD, WBF) | BIT32(GCMD, SIRTP))

/* FSTS bits software clears by writing 1; PPF and FRI are the records'. */
#define FSTS_W1C                                                                                        \
        (BIT32(FSTS, PFO) | BIT32(FSTS, AFO) | BIT32(FSTS, APF) | BIT32(FSTS, IQE) | BIT32(FSTS, ICE) | \
         BIT32(FSTS, ITE) | BIT32(FSTS, PRO))
/* The conditions that raise a fault event. */
#define FSTS_EVENT \
        (BIT32(FSTS, PFO) | BIT32(FSTS, PPF) | BIT32(FSTS, IQE) | BIT32(FSTS, ICE) | BIT32(FSTS, ITE))

#define QUEUE_OFFSET_MASK (BIT64(IQT, QT))

typedef struct reg_slot {
        const layout *l; /* NULL: no register in this dword */
        uint32_t start;  /* the register's first byte */
        bool implemented;
} reg_slot;

typedef enum step {
        STEP_NEXT,       /* done, IQH moves on */
        STEP_STOP_HERE,  /* IQH stays on it (error, stalled wait) */
        STEP_STOP_AFTER, /* IQH moves past it, then fetching stops (ITE) */
} step;

/* The head of the unit's memory (regs-sim.h, "A unit that outlives the
 * process"). */
typedef struct sim_head {
        char magic[8];
        uint32_t version;
        uint32_t window;
        uint32_t ver;
        uint32_t copy;
        uint64_t cap;
        uint64_t ecap;
        uint32_t active;
        uint8_t reserved[REGS_SIM_PERSIST_HEAD - 44];
} sim_head;
static_assert(sizeof(sim_head) == REGS_SIM_PERSIST_HEAD, "sim_head");
static_assert(offsetof(sim_head, active) == REGS_SIM_PERSIST_ACTIVE, "sim_head.active");

#define SIM_MAGIC "VTDUNIT"
#define SIM_VERSION 1u

/* What the unit latched beside its registers: hardware state, kept in each
 * copy after the register window. */
typedef struct sim_latched {
        regs_sim_state st;
        uint32_t next_record; /* the fault record the next fault goes to */
        bool ite_pending;     /* an ITE waits for the next wait descriptor */
        uint16_t ite_sid;     /* ... naming this device (IQERCD.ITESID) */
} sim_latched;
static_assert(sizeof(sim_latched) <= REGS_SIM_PERSIST_LATCHED, "sim_latched");
/* Kept in machine files as it is: a change of either is a new SIM_VERSION. */
static_assert(sizeof(regs_sim_state) == 72 && sizeof(sim_latched) == 80, "the persistent layout changed");

typedef struct regs_sim {
        iommu_regs r; /* first: the public struct */
        iommu_ram *ram;
        reg_slot *slots; /* one per dword of the window */
        uint64_t cap, ecap;
        uint32_t iro, fro; /* byte offsets */
        unsigned n_records;

        /* The hardware state: the head, then two copies of the register
         * window and the latched state, head->active naming the one in
         * force.  file and lat are the copy software sees, or during a
         * change (change_begin() to change_commit()) the one changed. */
        uint8_t *area;
        bool own_area;
        sim_head *head;
        size_t copy_size;
        uint8_t *file;
        sim_latched *lat;

        /* test knobs and counters: the process's, not the unit's */
        uint64_t n_reads;
        uint64_t reads_left; /* UINT64_MAX: never dies */
        bool stall_waits;
        bool fail_reads;
        regs_sim_error fail;
        uint16_t fail_sid;
        bool oom;

        regs_sim_write *writes;
        size_t n_writes, writes_alloc;
        bool no_log;
        regs_sim_inv *invs;
        size_t n_invs, invs_alloc;
        regs_sim_violation *violations;
        size_t n_violations, violations_alloc;
} regs_sim;

static const iommu_regs_ops sim_ops;

static regs_sim *sim_of(iommu_regs *r) {
        return r && r->ops == &sim_ops ? (regs_sim *) r : NULL;
}

/* ---- names ---- */

static const char *const via_table[] = {
        [REGS_SIM_VIA_REGISTER] = "register",
        [REGS_SIM_VIA_QUEUE] = "queue",
        [REGS_SIM_VIA_SRTP] = "srtp",
};
static_assert(ELEMENTSOF(via_table) == _REGS_SIM_VIA_MAX, "via_table");

static const char *const outcome_table[] = {
        [REGS_SIM_DONE] = "done",           [REGS_SIM_WIDENED] = "widened", [REGS_SIM_REFUSED] = "refused",
        [REGS_SIM_TIMED_OUT] = "timed-out", [REGS_SIM_ABORTED] = "aborted",
};
static_assert(ELEMENTSOF(outcome_table) == _REGS_SIM_OUTCOME_MAX, "outcome_table");

static const char *const violation_table[] = {
        [REGS_SIM_BAD_ACCESS] = "bad-access",
        [REGS_SIM_GCMD_MULTIPLE] = "gcmd-multiple",
        [REGS_SIM_NOT_SUPPORTED] = "not-supported",
        [REGS_SIM_TE_WITHOUT_ROOT] = "te-without-root",
        [REGS_SIM_IRE_WITHOUT_TABLE] = "ire-without-table",
        [REGS_SIM_QIE_TAIL_NOT_ZERO] = "qie-tail-not-zero",
        [REGS_SIM_QIE_DISABLE_BUSY] = "qie-disable-busy",
        [REGS_SIM_IQA_WHILE_ENABLED] = "iqa-while-enabled",
        [REGS_SIM_REGISTER_INV_QI] = "register-invalidation-with-qi",
        [REGS_SIM_REGISTER_INV_MODE] = "register-invalidation-not-legacy",
        [REGS_SIM_BAD_GRANULARITY] = "bad-granularity",
        [REGS_SIM_ADDRESS_UNALIGNED] = "address-unaligned",
        [REGS_SIM_RESERVED_TTM] = "reserved-ttm",
};
static_assert(ELEMENTSOF(violation_table) == _REGS_SIM_VIOLATION_KIND_MAX, "violation_table");

const char *regs_sim_via_to_string(regs_sim_via v) {
        return v >= 0 && v < _REGS_SIM_VIA_MAX ? via_table[v] : NULL;
}

const char *regs_sim_outcome_to_string(regs_sim_outcome o) {
        return o >= 0 && o < _REGS_SIM_OUTCOME_MAX ? outcome_table[o] : NULL;
}

const char *regs_sim_violation_kind_to_string(regs_sim_violation_kind k) {
        return k >= 0 && k < _REGS_SIM_VIOLATION_KIND_MAX ? violation_table[k] : NULL;
}

/* ---- the register file ---- */

static uint8_t *copy_at(const regs_sim *s, unsigned i) {
        return s->area + REGS_SIM_PERSIST_HEAD + i * s->copy_size;
}

static void use_copy(regs_sim *s, unsigned i) {
        s->file = copy_at(s, i);
        s->lat = (sim_latched *) (s->file + s->r.size);
}

/* Everything a register write, an injected fault or a resumed queue does
 * to the unit is done to the copy not in force, which then takes over
 * with one aligned store: a process killed at any instant leaves the unit
 * as before the change or after it, never half, as a unit's own write
 * is.  The stores the unit makes into memory (a wait's status word) are
 * not part of it: a kill may leave such a word written and the change
 * undone, like hardware that wrote it and then lost power before its
 * registers moved on; software waiting for the word sees it when it is
 * written, whatever the registers say. */
static void change_begin(regs_sim *s) {
        unsigned next = __atomic_load_n(&s->head->active, __ATOMIC_RELAXED) ^ 1;

        memcpy(copy_at(s, next), s->file, s->copy_size);
        use_copy(s, next);
}

static void change_commit(regs_sim *s) {
        unsigned now = s->file == copy_at(s, 0) ? 0 : 1;

        /* release: the copy's stores come first, for another process
         * reading the same memory (a worker) as for the compiler */
        __atomic_store_n(&s->head->active, now, __ATOMIC_RELEASE);
}

static uint32_t get32(const regs_sim *s, uint32_t off) {
        uint32_t v;
        memcpy(&v, s->file + off, sizeof v);
        return v;
}

static uint64_t get64(const regs_sim *s, uint32_t off) {
        uint64_t v;
        memcpy(&v, s->file + off, sizeof v);
        return v;
}

static void put32(regs_sim *s, uint32_t off, uint32_t v) {
        memcpy(s->file + off, &v, sizeof v);
}

static void put64(regs_sim *s, uint32_t off, uint64_t v) {
        memcpy(s->file + off, &v, sizeof v);
}

/* ---- the records ---- */

static _printf_(3, 4) void violation(regs_sim *s, regs_sim_violation_kind kind, const char *fmt, ...) {
        regs_sim_violation *v;
        va_list ap;

        if (!GREEDY_REALLOC(s->violations, s->violations_alloc, s->n_violations + 1)) {
                s->oom = true;
                return;
        }
        v = &s->violations[s->n_violations++];
        v->kind = kind;
        va_start(ap, fmt);
        (void) vsnprintf(v->text, sizeof v->text, fmt, ap);
        va_end(ap);
}

static void record(regs_sim *s, const regs_sim_inv *inv) {
        if (s->no_log)
                return;
        if (!GREEDY_REALLOC(s->invs, s->invs_alloc, s->n_invs + 1)) {
                s->oom = true;
                return;
        }
        s->invs[s->n_invs++] = *inv;
}

/* ---- events ---- */

/* An interrupt condition of FECTL or IECTL: IP set, and the message sent
 * (IP cleared again) unless IM masks it. */
static void raise_event(regs_sim *s, uint32_t ctl, unsigned *counter) {
        uint32_t v = get32(s, ctl) | BIT32(FECTL, IP);

        if (!(v & BIT32(FECTL, IM))) {
                (*counter)++;
                v &= ~BIT32(FECTL, IP);
        }
        put32(s, ctl, v);
}

/* A fault event is raised when a condition appears while none was
 * pending; later ones wait for software to service the first. */
static void fsts_set(regs_sim *s, uint32_t bits) {
        uint32_t fsts = get32(s, REG_FSTS);

        put32(s, REG_FSTS, fsts | bits);
        if (!(fsts & FSTS_EVENT) && (bits & FSTS_EVENT))
                raise_event(s, REG_FECTL, &s->lat->st.fault_interrupts);
}

/* Software serviced every condition: the pending message is withdrawn. */
static void fsts_maybe_clear_ip(regs_sim *s) {
        if (!(get32(s, REG_FSTS) & FSTS_EVENT))
                put32(s, REG_FECTL, get32(s, REG_FECTL) & ~BIT32(FECTL, IP));
}

static void completion_event(regs_sim *s) {
        /* one outstanding completion at a time: IWC still set means the
         * last one was not serviced */
        if (get32(s, REG_ICS) & BIT32(ICS, IWC))
                return;
        put32(s, REG_ICS, BIT32(ICS, IWC));
        raise_event(s, REG_IECTL, &s->lat->st.completion_interrupts);
}

static void update_ppf(regs_sim *s) {
        bool any = false;

        for (unsigned i = 0; i < s->n_records; i++)
                any = any || (get64(s, s->fro + i * FRCD_STRIDE + 8) & (UINT64_C(1) << (FRCD_F_LO - 64)));
        if (any)
                put32(s, REG_FSTS, get32(s, REG_FSTS) | BIT32(FSTS, PPF));
        else {
                put32(s, REG_FSTS, get32(s, REG_FSTS) & ~BIT32(FSTS, PPF));
                fsts_maybe_clear_ip(s);
        }
}

/* ---- the active root ---- */

static unsigned active_ttm(const regs_sim *s) {
        return s->lat->st.n_srtp > 0 ? (unsigned) FIELD_GET(RTADDR, TTM, &s->lat->st.root) : 0;
}

/* ---- register-based invalidation ---- */

/* Whether a CCMD/IOTLB request may run; records why not. */
static bool register_inv_allowed(regs_sim *s, const char *reg) {
        if (get32(s, REG_GSTS) & BIT32(GSTS, QIES)) {
                violation(s, REGS_SIM_REGISTER_INV_QI,
                          "%s invalidation requested while queued invalidation is enabled; refused", reg);
                return false;
        }
        if (active_ttm(s) != 0) {
                violation(s, REGS_SIM_REGISTER_INV_MODE,
                          "%s invalidation requested with a root table in translation mode %u; only legacy "
                          "mode allows register-based invalidation; refused",
                          reg, active_ttm(s));
                return false;
        }
        return true;
}

static void ccmd_run(regs_sim *s) {
        uint64_t v = get64(s, REG_CCMD);
        regs_sim_inv inv = {
                .kind = INV_KIND_CONTEXT_CACHE,
                .via = REGS_SIM_VIA_REGISTER,
                .granularity = (unsigned) FIELD_GET(CCMD, CIRG, &v),
                .did = (uint16_t) FIELD_GET(CCMD, DID, &v),
                .sid = (uint16_t) FIELD_GET(CCMD, SID, &v),
                .fm = (uint8_t) FIELD_GET(CCMD, FM, &v),
                .raw = { v & ~BIT64(CCMD, CAIG) }, /* the request, without the last answer */
        };

        if (!(v & BIT64(CCMD, ICC)))
                return;
        if (!register_inv_allowed(s, "Context-cache"))
                inv.outcome = REGS_SIM_REFUSED;
        else if (inv.granularity == 0) {
                violation(s, REGS_SIM_BAD_GRANULARITY,
                          "CCMD 0x%016" PRIx64 " asks for the reserved granularity CIRG 0; refused", v);
                inv.outcome = REGS_SIM_REFUSED;
        } else {
                inv.outcome = REGS_SIM_DONE;
                inv.performed = inv.granularity;
        }
        record(s, &inv);

        v &= ~BIT64(CCMD, ICC);
        FIELD_SET(CCMD, CAIG, &v, inv.performed);
        put64(s, REG_CCMD, v);
}

/* Page-selective checks shared by the IOTLB register and the IOTLB and
 * PASID-IOTLB descriptors.  False: AM beyond CAP.MAMV (refused). */
static bool page_selective_ok(regs_sim *s, const char *what, uint64_t addr, unsigned am) {
        unsigned mamv = (unsigned) FIELD_GET(CAP, MAMV, &s->cap);

        if (am > mamv) {
                violation(s, REGS_SIM_BAD_GRANULARITY,
                          "%s page-selective invalidation with AM %u beyond CAP.MAMV %u", what, am, mamv);
                return false;
        }
        if (addr & ((UINT64_C(4096) << am) - 1))
                violation(s, REGS_SIM_ADDRESS_UNALIGNED,
                          "%s page-selective invalidation of 0x%" PRIx64 " is not aligned to its 2^%u pages",
                          what, addr, am);
        return true;
}

static void iotlb_run(regs_sim *s) {
        uint64_t v = get64(s, s->iro + IRO_IOTLB), iva = get64(s, s->iro + IRO_IVA);
        regs_sim_inv inv = {
                .kind = INV_KIND_IOTLB,
                .via = REGS_SIM_VIA_REGISTER,
                .granularity = (unsigned) FIELD_GET(IOTLB, IIRG, &v),
                .did = (uint16_t) FIELD_GET(IOTLB, DID, &v),
                .dr = FIELD_GET(IOTLB, DR, &v),
                .dw = FIELD_GET(IOTLB, DW, &v),
                .raw = { v & ~BIT64(IOTLB, IAIG), iva },
        };

        if (!(v & BIT64(IOTLB, IVT)))
                return;
        if (inv.granularity == 3) {
                inv.addr = FIELD_ADDR(IVA, ADDR, &iva);
                inv.am = (uint8_t) FIELD_GET(IVA, AM, &iva);
                inv.ih = FIELD_GET(IVA, IH, &iva);
        }

        if (!register_inv_allowed(s, "IOTLB"))
                inv.outcome = REGS_SIM_REFUSED;
        else if (inv.granularity == 0) {
                violation(s, REGS_SIM_BAD_GRANULARITY,
                          "IOTLB 0x%016" PRIx64 " asks for the reserved granularity IIRG 0; refused", v);
                inv.outcome = REGS_SIM_REFUSED;
        } else if (inv.granularity == 3 && !FIELD_GET(CAP, PSI, &s->cap)) {
                /* IAIG may report a coarser granularity than asked
                 * (spec 11.4.8.1); without PSI, the domain is the finest */
                inv.outcome = REGS_SIM_WIDENED;
                inv.performed = 2;
        } else if (inv.granularity == 3 && !page_selective_ok(s, "IOTLB register", inv.addr, inv.am))
                inv.outcome = REGS_SIM_REFUSED; /* IAIG 0, as QEMU */
        else {
                inv.outcome = REGS_SIM_DONE;
                inv.performed = inv.granularity;
        }
        record(s, &inv);

        v &= ~BIT64(IOTLB, IVT);
        FIELD_SET(IOTLB, IAIG, &v, inv.performed);
        put64(s, s->iro + IRO_IOTLB, v);
}

/* ---- the invalidation queue ---- */

static void iq_error(regs_sim *s, unsigned iqei) {
        uint64_t v = get64(s, REG_IQERCD);

        FIELD_SET(IQERCD, IQEI, &v, iqei);
        put64(s, REG_IQERCD, v);
        fsts_set(s, BIT32(FSTS, IQE));
}

static void ite_halt(regs_sim *s) {
        uint64_t v = get64(s, REG_IQERCD);

        s->lat->ite_pending = false;
        FIELD_SET(IQERCD, ITESID, &v, s->lat->ite_sid);
        put64(s, REG_IQERCD, v);
        fsts_set(s, BIT32(FSTS, ITE));
}

/* Which descriptor types this unit knows, and what it needs for them. */
static inv_kind descriptor_kind(const regs_sim *s, unsigned type) {
        switch (type) {
        case INV_DSC_CC:
                return INV_KIND_CONTEXT_CACHE;
        case INV_DSC_IOTLB:
                return INV_KIND_IOTLB;
        case INV_DSC_WAIT:
                return INV_KIND_WAIT;
        case INV_DSC_DEV_TLB:
                return FIELD_GET(ECAP, DT, &s->ecap) ? INV_KIND_DEVICE_TLB : _INV_KIND_INVALID;
        case INV_DSC_IEC:
                return FIELD_GET(ECAP, IR, &s->ecap) ? INV_KIND_INTERRUPT_ENTRY_CACHE : _INV_KIND_INVALID;
        case INV_DSC_P_IOTLB:
                return FIELD_GET(ECAP, SMTS, &s->ecap) ? INV_KIND_PASID_IOTLB : _INV_KIND_INVALID;
        case INV_DSC_PC:
                return FIELD_GET(ECAP, SMTS, &s->ecap) ? INV_KIND_PASID_CACHE : _INV_KIND_INVALID;
        case INV_DSC_P_DEV_TLB:
                return FIELD_GET(ECAP, SMTS, &s->ecap) && FIELD_GET(ECAP, DT, &s->ecap)
                               ? INV_KIND_PASID_DEVICE_TLB
                               : _INV_KIND_INVALID;
        case 0x9: /* page response, with page requests */
                return FIELD_GET(ECAP, PRS, &s->ecap) ? INV_KIND_OTHER : _INV_KIND_INVALID;
        default:
                return _INV_KIND_INVALID;
        }
}

/* The fields of a valid descriptor, and whether its granularity is one
 * the specification defines (else a reserved-field violation). */
static bool describe(regs_sim *s, const uint64_t *d, regs_sim_inv *inv) {
        switch (inv->kind) {
        case INV_KIND_CONTEXT_CACHE:
                inv->granularity = (unsigned) FIELD_GET(CC_INV_DSC, G, d);
                inv->did = (uint16_t) FIELD_GET(CC_INV_DSC, DID, d);
                inv->sid = (uint16_t) FIELD_GET(CC_INV_DSC, SID, d);
                inv->fm = (uint8_t) FIELD_GET(CC_INV_DSC, FM, d);
                return inv->granularity != 0;
        case INV_KIND_IOTLB:
                inv->granularity = (unsigned) FIELD_GET(IOTLB_INV_DSC, G, d);
                inv->did = (uint16_t) FIELD_GET(IOTLB_INV_DSC, DID, d);
                inv->dr = FIELD_GET(IOTLB_INV_DSC, DR, d);
                inv->dw = FIELD_GET(IOTLB_INV_DSC, DW, d);
                if (inv->granularity == 3) {
                        inv->addr = FIELD_ADDR(IOTLB_INV_DSC, ADDR, d);
                        inv->am = (uint8_t) FIELD_GET(IOTLB_INV_DSC, AM, d);
                        inv->ih = FIELD_GET(IOTLB_INV_DSC, IH, d);
                        if (FIELD_GET(CAP, PSI, &s->cap) &&
                            !page_selective_ok(s, "IOTLB descriptor", inv->addr, inv->am))
                                return false; /* QEMU: an invalid descriptor */
                }
                return inv->granularity != 0;
        case INV_KIND_DEVICE_TLB:
                inv->granularity = (unsigned) FIELD_GET(DEV_TLB_INV_DSC, S, d);
                inv->sid = (uint16_t) FIELD_GET(DEV_TLB_INV_DSC, SID, d);
                inv->addr = FIELD_ADDR(DEV_TLB_INV_DSC, ADDR, d);
                return true;
        case INV_KIND_INTERRUPT_ENTRY_CACHE:
                inv->granularity = (unsigned) FIELD_GET(IEC_INV_DSC, G, d);
                inv->iidx = (uint16_t) FIELD_GET(IEC_INV_DSC, IIDX, d);
                inv->im = (uint8_t) FIELD_GET(IEC_INV_DSC, IM, d);
                return true;
        case INV_KIND_WAIT:
                inv->sw = FIELD_GET(INV_WAIT_DSC, SW, d);
                inv->irq = FIELD_GET(INV_WAIT_DSC, IF, d);
                inv->fence = FIELD_GET(INV_WAIT_DSC, FN, d);
                inv->status = (uint32_t) FIELD_GET(INV_WAIT_DSC, STDATA, d);
                inv->addr = FIELD_ADDR(INV_WAIT_DSC, STADDR, d);
                /* PD only on units that drain page requests (VirtualBox's model agrees) */
                return !FIELD_GET(INV_WAIT_DSC, PD, d) || FIELD_GET(ECAP, PDS, &s->ecap);
        case INV_KIND_PASID_IOTLB:
                inv->granularity = (unsigned) FIELD_GET(P_IOTLB_INV_DSC, G, d);
                inv->did = (uint16_t) FIELD_GET(P_IOTLB_INV_DSC, DID, d);
                inv->pasid = (uint32_t) FIELD_GET(P_IOTLB_INV_DSC, PASID, d);
                if (inv->granularity == 3) {
                        inv->addr = FIELD_ADDR(P_IOTLB_INV_DSC, ADDR, d);
                        inv->am = (uint8_t) FIELD_GET(P_IOTLB_INV_DSC, AM, d);
                        inv->ih = FIELD_GET(P_IOTLB_INV_DSC, IH, d);
                        if (!page_selective_ok(s, "PASID-IOTLB descriptor", inv->addr, inv->am))
                                return false;
                }
                return inv->granularity >= 2; /* 0 and 1 are reserved since rev 3 */
        case INV_KIND_PASID_CACHE:
                inv->granularity = (unsigned) FIELD_GET(PC_INV_DSC, G, d);
                inv->did = (uint16_t) FIELD_GET(PC_INV_DSC, DID, d);
                inv->pasid = (uint32_t) FIELD_GET(PC_INV_DSC, PASID, d);
                return inv->granularity != 2;
        case INV_KIND_PASID_DEVICE_TLB:
                inv->granularity = (unsigned) FIELD_GET(P_DEV_TLB_INV_DSC, S, d);
                inv->sid = (uint16_t) FIELD_GET(P_DEV_TLB_INV_DSC, SID, d);
                inv->pasid = (uint32_t) FIELD_GET(P_DEV_TLB_INV_DSC, PASID, d);
                inv->global = FIELD_GET(P_DEV_TLB_INV_DSC, G, d);
                inv->addr = FIELD_ADDR(P_DEV_TLB_INV_DSC, ADDR, d);
                return true;
        default:
                return true;
        }
}

static bool write_status(regs_sim *s, uint64_t addr, uint32_t data) {
        uint8_t *page = iommu_ram_image_page(s->ram, addr & ~(uint64_t) (VTD_PAGE_SIZE - 1));

        if (!page)
                return false;
        /* STADDR is dword aligned: the word never crosses the page */
        memcpy(page + (addr & (VTD_PAGE_SIZE - 1)), &data, sizeof data);
        return true;
}

static step process_one(regs_sim *s, uint32_t head, unsigned dsize) {
        uint64_t d[4] = {};
        const layout *l;
        unsigned type;
        regs_sim_inv inv = { .via = REGS_SIM_VIA_QUEUE, .queue_offset = head };

        if (s->fail == REGS_SIM_ERROR_IQE) {
                s->fail = REGS_SIM_ERROR_NONE;
                iq_error(s, IQEI_FETCH_ERROR);
                return STEP_STOP_HERE;
        }
        /* 256-bit descriptors exist only with scalable mode; in scalable
         * mode 128-bit ones are invalid (spec 6.5.2) */
        if (dsize == 32 ? !FIELD_GET(ECAP, SMTS, &s->ecap) : active_ttm(s) == 1) {
                iq_error(s, IQEI_INVALID_WIDTH);
                return STEP_STOP_HERE;
        }
        if (iommu_ram_read(s->ram, s->lat->st.queue_base + head, d, dsize, NULL) < 0) {
                iq_error(s, IQEI_FETCH_ERROR);
                return STEP_STOP_HERE;
        }
        memcpy(inv.raw, d, sizeof inv.raw);

        type = (unsigned) (FIELD_GET(INV_DSC, TYPE_LO, d) | FIELD_GET(INV_DSC, TYPE_HI, d) << 4);
        inv.kind = descriptor_kind(s, type);
        if (inv.kind < 0) {
                iq_error(s, IQEI_INVALID_TYPE);
                return STEP_STOP_HERE;
        }
        l = inv_kind_layout(inv.kind);
        if ((l && layout_reserved_set(l, d)) || d[2] || d[3] || !describe(s, d, &inv)) {
                iq_error(s, IQEI_RESERVED_FIELD);
                return STEP_STOP_HERE;
        }
        inv.performed = inv.granularity;
        inv.outcome = REGS_SIM_DONE;
        if (inv.kind == INV_KIND_IOTLB && inv.granularity == 3 && !FIELD_GET(CAP, PSI, &s->cap)) {
                inv.performed = 2;
                inv.outcome = REGS_SIM_WIDENED;
        }

        if (inv.kind == INV_KIND_WAIT) {
                if (s->fail == REGS_SIM_ERROR_ITE) {
                        s->fail = REGS_SIM_ERROR_NONE;
                        s->lat->ite_pending = true;
                        s->lat->ite_sid = s->fail_sid;
                }
                if (s->lat->ite_pending) {
                        inv.outcome = REGS_SIM_ABORTED;
                        record(s, &inv);
                        ite_halt(s);
                        return STEP_STOP_AFTER;
                }
                if (s->stall_waits)
                        return STEP_STOP_HERE;
                if (inv.sw && !write_status(s, inv.addr, inv.status)) {
                        s->oom = true;
                        iq_error(s, IQEI_INFO_NOT_AVAILABLE);
                        return STEP_STOP_HERE;
                }
                if (inv.irq)
                        completion_event(s);
                record(s, &inv);
                return STEP_NEXT;
        }

        if (s->fail == REGS_SIM_ERROR_ITE) {
                s->fail = REGS_SIM_ERROR_NONE;
                s->lat->ite_pending = true;
                s->lat->ite_sid = s->fail_sid;
                inv.outcome = REGS_SIM_TIMED_OUT;
        } else if (s->fail == REGS_SIM_ERROR_ICE) {
                uint64_t v = get64(s, REG_IQERCD);

                s->fail = REGS_SIM_ERROR_NONE;
                FIELD_SET(IQERCD, ICESID, &v, s->fail_sid);
                put64(s, REG_IQERCD, v);
                fsts_set(s, BIT32(FSTS, ICE));
        }
        record(s, &inv);
        return STEP_NEXT;
}

/* Fetch and perform descriptors from IQH up to IQT, as long as queued
 * invalidation is on and no error blocks fetching. */
static void queue_run(regs_sim *s) {
        uint32_t head, tail, dsize = s->lat->st.queue_256 ? 32 : 16;

        if (!(get32(s, REG_GSTS) & BIT32(GSTS, QIES)) ||
            (get32(s, REG_FSTS) & (BIT32(FSTS, IQE) | BIT32(FSTS, ITE))))
                return;
        head = (uint32_t) (get64(s, REG_IQH) & QUEUE_OFFSET_MASK);
        tail = (uint32_t) (get64(s, REG_IQT) & QUEUE_OFFSET_MASK);
        if (head == tail)
                return;
        /* a tail outside the queue, or inside a 256-bit descriptor */
        if (tail >= s->lat->st.queue_size || tail % dsize != 0) {
                iq_error(s, IQEI_INVALID_TAIL);
                return;
        }

        /* IQH moves by one descriptor each turn, so the queue's length
         * bounds the loop */
        for (uint32_t n = 0; head != tail && n < s->lat->st.queue_size / dsize; n++) {
                step k = process_one(s, head, dsize);

                if (k == STEP_STOP_HERE)
                        return;
                head = (head + dsize) % s->lat->st.queue_size;
                put64(s, REG_IQH, head);
                if (k == STEP_STOP_AFTER)
                        return;
        }
        if (s->lat->ite_pending)
                ite_halt(s);
}

static void qie_enable(regs_sim *s) {
        uint64_t iqa = get64(s, REG_IQA);

        s->lat->st.queue_base = FIELD_ADDR(IQA, IQA, &iqa);
        s->lat->st.queue_size = VTD_PAGE_SIZE << FIELD_GET(IQA, QS, &iqa);
        s->lat->st.queue_256 = FIELD_GET(IQA, DW, &iqa);
        put64(s, REG_IQH, 0);
        put32(s, REG_GSTS, get32(s, REG_GSTS) | BIT32(GSTS, QIES));
        if (get64(s, REG_IQT) & QUEUE_OFFSET_MASK) {
                /* QEMU accepts it (Windows does it) and runs the queue */
                violation(s, REGS_SIM_QIE_TAIL_NOT_ZERO,
                          "QIE set with IQT 0x%" PRIx64 "; software must set IQT to 0 first",
                          get64(s, REG_IQT));
                queue_run(s);
        }
}

static void qie_disable(regs_sim *s) {
        uint64_t head = get64(s, REG_IQH), tail = get64(s, REG_IQT) & QUEUE_OFFSET_MASK;

        if (head != tail) {
                /* as QEMU: QIES stays set, software polling it times out */
                violation(s, REGS_SIM_QIE_DISABLE_BUSY,
                          "QIE cleared with IQH 0x%" PRIx64 " short of IQT 0x%" PRIx64 "; refused", head,
                          tail);
                return;
        }
        put64(s, REG_IQH, 0);
        put32(s, REG_GSTS, get32(s, REG_GSTS) & ~BIT32(GSTS, QIES));
}

/* ---- GCMD ---- */

static void implied_global(regs_sim *s, inv_kind kind, unsigned g) {
        regs_sim_inv inv = {
                .kind = kind,
                .via = REGS_SIM_VIA_SRTP,
                .outcome = REGS_SIM_DONE,
                .granularity = g,
                .performed = g,
        };
        record(s, &inv);
}

static void srtp(regs_sim *s) {
        uint64_t rtaddr = get64(s, REG_RTADDR);
        unsigned ttm = (unsigned) FIELD_GET(RTADDR, TTM, &rtaddr);

        if (ttm == 3)
                violation(s, REGS_SIM_RESERVED_TTM, "SRTP with RTADDR 0x%016" PRIx64 ": TTM 11b is reserved",
                          rtaddr);
        else if ((ttm == 1 && !FIELD_GET(ECAP, SMTS, &s->ecap)) ||
                 (ttm == 2 && !FIELD_GET(ECAP, ADMS, &s->ecap)))
                violation(s, REGS_SIM_NOT_SUPPORTED,
                          "SRTP with RTADDR.TTM %u, a mode ECAP says this unit does not have", ttm);
        s->lat->st.root = rtaddr;
        s->lat->st.n_srtp++;
        put32(s, REG_GSTS, get32(s, REG_GSTS) | BIT32(GSTS, RTPS));
        if (FIELD_GET(CAP, ESRTPS, &s->cap)) {
                /* ESRTPS: the SRTP flow invalidates every translation cache */
                implied_global(s, INV_KIND_CONTEXT_CACHE, 1);
                if (FIELD_GET(ECAP, SMTS, &s->ecap))
                        implied_global(s, INV_KIND_PASID_CACHE, 3);
                implied_global(s, INV_KIND_IOTLB, 1);
        }
}

static void sirtp(regs_sim *s) {
        s->lat->st.irta = get64(s, REG_IRTA);
        s->lat->st.n_sirtp++;
        put32(s, REG_GSTS, get32(s, REG_GSTS) | BIT32(GSTS, IRTPS));
        if (FIELD_GET(CAP, ESIRTPS, &s->cap))
                implied_global(s, INV_KIND_INTERRUPT_ENTRY_CACHE, 0);
}

/* A GCMD bit the unit lacks the capability for; true: unsupported. */
static bool gcmd_unsupported(regs_sim *s, uint32_t bit, bool supported) {
        if (supported)
                return false;
        for (size_t i = 0; i < layout_gcmd.n_fields; i++)
                if (UINT32_C(1) << layout_gcmd.fields[i].lo == bit)
                        violation(s, REGS_SIM_NOT_SUPPORTED,
                                  "GCMD.%s written on a unit whose CAP/ECAP says it has no such command",
                                  layout_gcmd.fields[i].name);
        return true;
}

static void gcmd_write(regs_sim *s, uint32_t v) {
        uint32_t gsts = get32(s, REG_GSTS);
        uint32_t changed = (v ^ gsts) & GCMD_PERSISTENT, shots = v & GCMD_ONE_SHOT;
        bool ir = FIELD_GET(ECAP, IR, &s->ecap), afl = FIELD_GET(CAP, AFL, &s->cap);

        /* spec 11.4.4: one command per write, the other bits as GSTS has them */
        if (__builtin_popcount(changed) + __builtin_popcount(shots) > 1) {
                char names[96] = "";
                size_t n = 0;

                for (size_t i = 0; i < layout_gcmd.n_fields; i++)
                        if ((changed | shots) & (UINT32_C(1) << layout_gcmd.fields[i].lo) &&
                            n < sizeof names)
                                n += (size_t) snprintf(names + n, sizeof names - n, "%s%s", n ? " " : "",
                                                       layout_gcmd.fields[i].name);
                violation(s, REGS_SIM_GCMD_MULTIPLE,
                          "GCMD 0x%08" PRIx32 " with GSTS 0x%08" PRIx32
                          " asks for several commands at once (%s)",
                          v, gsts, names);
        }

        /* the one-shot commands first: a pointer latched in the same write
         * counts for TE and IRE */
        if (shots & BIT32(GCMD, SRTP))
                srtp(s);
        if ((shots & BIT32(GCMD, SIRTP)) && !gcmd_unsupported(s, BIT32(GCMD, SIRTP), ir))
                sirtp(s);
        /* WBFS is set and cleared again at once; without CAP.RWBF the
         * command is ignored (spec 11.4.4) */
        if ((shots & BIT32(GCMD, WBF)) && FIELD_GET(CAP, RWBF, &s->cap))
                s->lat->st.n_wbf++;
        if ((shots & BIT32(GCMD, SFL)) && !gcmd_unsupported(s, BIT32(GCMD, SFL), afl))
                put32(s, REG_GSTS, get32(s, REG_GSTS) | BIT32(GSTS, FLS));

        if (changed & BIT32(GCMD, TE)) {
                if ((v & BIT32(GCMD, TE)) && !(get32(s, REG_GSTS) & BIT32(GSTS, RTPS)))
                        violation(s, REGS_SIM_TE_WITHOUT_ROOT,
                                  "TE set before any root table pointer was latched by SRTP");
                put32(s, REG_GSTS, (get32(s, REG_GSTS) & ~BIT32(GSTS, TES)) | (v & BIT32(GCMD, TE)));
        }
        if ((changed & BIT32(GCMD, QIE)) &&
            !gcmd_unsupported(s, BIT32(GCMD, QIE), FIELD_GET(ECAP, QI, &s->ecap))) {
                if (v & BIT32(GCMD, QIE))
                        qie_enable(s);
                else
                        qie_disable(s);
        }
        if ((changed & BIT32(GCMD, IRE)) && !gcmd_unsupported(s, BIT32(GCMD, IRE), ir)) {
                if ((v & BIT32(GCMD, IRE)) && !(get32(s, REG_GSTS) & BIT32(GSTS, IRTPS)))
                        violation(s, REGS_SIM_IRE_WITHOUT_TABLE,
                                  "IRE set before any interrupt remapping table was latched by SIRTP");
                put32(s, REG_GSTS, (get32(s, REG_GSTS) & ~BIT32(GSTS, IRES)) | (v & BIT32(GCMD, IRE)));
        }
        if ((changed & BIT32(GCMD, CFI)) && !gcmd_unsupported(s, BIT32(GCMD, CFI), ir))
                put32(s, REG_GSTS, (get32(s, REG_GSTS) & ~BIT32(GSTS, CFIS)) | (v & BIT32(GCMD, CFI)));
        if ((changed & BIT32(GCMD, EAFL)) && !gcmd_unsupported(s, BIT32(GCMD, EAFL), afl))
                put32(s, REG_GSTS, (get32(s, REG_GSTS) & ~BIT32(GSTS, AFLS)) | (v & BIT32(GCMD, EAFL)));
}

/* ---- what follows a write ---- */

/* m: the bits the access covered; v: the value written, at its place. */
typedef void (*after_fn)(regs_sim *s, uint64_t m, uint64_t v);

static void after_ccmd(regs_sim *s, uint64_t m, _unused_ uint64_t v) {
        if (m & BIT64(CCMD, ICC))
                ccmd_run(s);
}

static void after_iotlb(regs_sim *s, uint64_t m, _unused_ uint64_t v) {
        if (m & BIT64(IOTLB, IVT))
                iotlb_run(s);
}

static void after_iqt(regs_sim *s, uint64_t m, _unused_ uint64_t v) {
        if (m & QUEUE_OFFSET_MASK)
                queue_run(s);
}

static void after_iqa(regs_sim *s, _unused_ uint64_t m, _unused_ uint64_t v) {
        /* the queue in use stays the one latched when QIE was set */
        if (get32(s, REG_GSTS) & BIT32(GSTS, QIES))
                violation(s, REGS_SIM_IQA_WHILE_ENABLED,
                          "IQA written while queued invalidation is enabled; the queue in use is unchanged");
}

static void after_fsts(regs_sim *s, _unused_ uint64_t m, uint64_t v) {
        fsts_maybe_clear_ip(s);
        /* hardware fetches again once software cleared the error */
        if (v & (BIT32(FSTS, IQE) | BIT32(FSTS, ITE)))
                queue_run(s);
}

static void after_event_ctl(regs_sim *s, uint32_t ctl, unsigned *counter) {
        uint32_t v = get32(s, ctl);

        /* unmasked with a message pending: it goes out now */
        if ((v & BIT32(FECTL, IP)) && !(v & BIT32(FECTL, IM))) {
                (*counter)++;
                put32(s, ctl, v & ~BIT32(FECTL, IP));
        }
}

static void after_fectl(regs_sim *s, _unused_ uint64_t m, _unused_ uint64_t v) {
        after_event_ctl(s, REG_FECTL, &s->lat->st.fault_interrupts);
}

static void after_iectl(regs_sim *s, _unused_ uint64_t m, _unused_ uint64_t v) {
        after_event_ctl(s, REG_IECTL, &s->lat->st.completion_interrupts);
}

static void after_ics(regs_sim *s, _unused_ uint64_t m, _unused_ uint64_t v) {
        if (!(get32(s, REG_ICS) & BIT32(ICS, IWC)))
                put32(s, REG_IECTL, get32(s, REG_IECTL) & ~BIT32(IECTL, IP));
}

static void after_pmen(regs_sim *s, _unused_ uint64_t m, _unused_ uint64_t v) {
        uint32_t pmen = get32(s, REG_PMEN) & ~BIT32(PMEN, PRS);

        /* protection takes effect at once: the status follows the enable */
        put32(s, REG_PMEN, pmen | (pmen & BIT32(PMEN, EPM) ? BIT32(PMEN, PRS) : 0));
}

static void after_frcd(regs_sim *s, _unused_ uint64_t m, _unused_ uint64_t v) {
        update_ppf(s);
}

/* How a register (or one qword of FRCD) takes a write: the bits software
 * may set, those it clears by writing 1, and what happens next.  A
 * register without a rule reads back what was written. */
typedef struct reg_rule {
        const layout *l;
        uint8_t half; /* FRCD: 0 or 8, the qword */
        uint64_t wmask;
        uint64_t w1c;
        after_fn after;
} reg_rule;

/* clang-format off */
static const reg_rule rules[] = {
        { .l = &layout_ver },
        { .l = &layout_cap },
        { .l = &layout_ecap },
        { .l = &layout_gsts },
        { .l = &layout_rtaddr, .wmask = BIT64(RTADDR, RTA) | BIT64(RTADDR, TTM) },
        { .l = &layout_ccmd, .after = after_ccmd,
          .wmask = BIT64(CCMD, ICC) | BIT64(CCMD, CIRG) | BIT64(CCMD, FM) | BIT64(CCMD, SID) | BIT64(CCMD, DID) },
        { .l = &layout_fsts, .w1c = FSTS_W1C, .after = after_fsts },
        { .l = &layout_fectl, .wmask = BIT64(FECTL, IM), .after = after_fectl },
        { .l = &layout_feaddr, .wmask = BIT64(FEADDR, MA) },
        { .l = &layout_aflog, .wmask = BIT64(AFLOG, FLS) | BIT64(AFLOG, FLA) },
        { .l = &layout_pmen, .wmask = BIT64(PMEN, EPM), .after = after_pmen },
        { .l = &layout_iqh },
        { .l = &layout_iqt, .wmask = QUEUE_OFFSET_MASK, .after = after_iqt },
        { .l = &layout_iqa, .wmask = BIT64(IQA, IQA) | BIT64(IQA, DW) | BIT64(IQA, QS), .after = after_iqa },
        { .l = &layout_ics, .w1c = BIT64(ICS, IWC), .after = after_ics },
        { .l = &layout_iectl, .wmask = BIT64(IECTL, IM), .after = after_iectl },
        { .l = &layout_ieaddr, .wmask = BIT64(IEADDR, MA) },
        { .l = &layout_iqercd },
        { .l = &layout_irta, .wmask = BIT64(IRTA, IRTA) | BIT64(IRTA, EIME) | BIT64(IRTA, S) },
        { .l = &layout_iva, .wmask = BIT64(IVA, ADDR) | BIT64(IVA, IH) | BIT64(IVA, AM) },
        { .l = &layout_iotlb, .after = after_iotlb,
          .wmask = BIT64(IOTLB, IVT) | BIT64(IOTLB, IIRG) | BIT64(IOTLB, DR) | BIT64(IOTLB, DW) | BIT64(IOTLB, DID) },
        { .l = &layout_frcd, .half = 0 },
        { .l = &layout_frcd, .half = 8, .w1c = UINT64_C(1) << (FRCD_F_LO - 64), .after = after_frcd },
};
/* clang-format on */

static const reg_rule *rule_for(const layout *l, uint32_t half) {
        for (size_t i = 0; i < ELEMENTSOF(rules); i++)
                if (rules[i].l == l && rules[i].half == half)
                        return &rules[i];
        return NULL;
}

static void write_register(regs_sim *s, const reg_slot *slot, uint32_t offset, unsigned width,
                           uint64_t value) {
        const layout *l = slot->l;
        uint32_t q, half = 0;
        uint64_t m, v, old, now, wmask, w1c;
        unsigned shift;
        const reg_rule *rule;

        if (l == &layout_gcmd) {
                gcmd_write(s, (uint32_t) value);
                return;
        }

        /* the 32-bit register, or the qword of a wider one, the access falls in */
        if (l->width == 32)
                q = slot->start;
        else {
                half = (offset - slot->start) & ~UINT32_C(7);
                q = slot->start + half;
        }
        shift = (offset - q) * 8;
        m = width == 64 ? UINT64_MAX : UINT64_C(0xffffffff) << shift;
        v = (value << shift) & m;
        old = l->width == 32 ? get32(s, q) : get64(s, q);

        rule = rule_for(l, l == &layout_frcd ? half : 0);
        wmask = rule ? rule->wmask : UINT64_MAX;
        w1c = rule ? rule->w1c : 0;
        now = ((old & ~(wmask & m)) | (v & wmask)) & ~(v & w1c);
        if (l->width == 32)
                put32(s, q, (uint32_t) now);
        else
                put64(s, q, now);
        if (rule && rule->after)
                rule->after(s, m, v);
}

/* ---- the backend ---- */

static int bad_access(regs_sim *s, iommu_error *err, const char *fmt, ...) _printf_(3, 4);
static int bad_access(regs_sim *s, iommu_error *err, const char *fmt, ...) {
        char text[200];
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(text, sizeof text, fmt, ap);
        va_end(ap);
        violation(s, REGS_SIM_BAD_ACCESS, "%s", text);
        return iommu_error_set(err, EINVAL, "%s", text);
}

static const reg_slot *slot_at(const regs_sim *s, uint32_t offset) {
        return &s->slots[offset / 4];
}

static int check_access(regs_sim *s, uint32_t offset, unsigned width, const char *what, iommu_error *err) {
        if (width != 32 && width != 64)
                return bad_access(s, err,
                                  "A %u-bit register %s at 0x%" PRIx32 "; only 32 and 64 bits are possible",
                                  width, what, offset);
        if (offset % (width / 8) != 0)
                return bad_access(s, err, "A %u-bit register %s at 0x%" PRIx32 " is not naturally aligned",
                                  width, what, offset);
        if (offset >= s->r.size || s->r.size - offset < width / 8)
                return bad_access(s, err,
                                  "A %u-bit register %s at 0x%" PRIx32 " is outside the 0x%" PRIx64
                                  "-byte register window",
                                  width, what, offset, s->r.size);
        /* 32-bit registers take only 32-bit accesses (spec 10.2) */
        for (unsigned i = 0; width == 64 && i < 2; i++) {
                const reg_slot *slot = slot_at(s, offset + 4 * i);

                if (slot->l && slot->l->width == 32)
                        return bad_access(s, err,
                                          "A 64-bit %s at 0x%" PRIx32 " covers the 32-bit register %s", what,
                                          offset, slot->l->name);
        }
        return 0;
}

static int sim_read(iommu_regs *r, uint32_t offset, unsigned width, uint64_t *ret, iommu_error *err) {
        regs_sim *s = (regs_sim *) r;
        const reg_slot *slot;
        const uint8_t *file;
        sim_latched *lat;
        uint64_t v;
        int k;

        k = check_access(s, offset, width, "read", err);
        if (k < 0)
                return k;
        if (s->fail_reads)
                return iommu_error_set(
                        err, EIO, "Failed to read the register at 0x%x: the simulated read fails", offset);
        /* the copy in force, as the head says: a process that shares the
         * unit's memory but not this one's pointers (a forked worker)
         * reads what the writer last committed */
        file = copy_at(s, __atomic_load_n(&s->head->active, __ATOMIC_ACQUIRE));
        lat = (sim_latched *) (file + s->r.size);
        s->n_reads++;
        if (s->reads_left == 0)
                lat->st.dead = true; /* one store: whole, no change_begin() needed */
        else if (s->reads_left != UINT64_MAX)
                s->reads_left--;
        if (lat->st.dead) {
                *ret = width == 32 ? UINT32_MAX : UINT64_MAX;
                return 0;
        }

        slot = slot_at(s, offset);
        if (slot->l && (!slot->implemented || slot->l == &layout_gcmd))
                v = 0; /* RsvdZ, and GCMD is write-only */
        else if (width == 32) {
                uint32_t d;
                memcpy(&d, file + offset, sizeof d);
                v = d;
        } else
                memcpy(&v, file + offset, sizeof v);
        *ret = v;
        return 0;
}

static int sim_write(iommu_regs *r, uint32_t offset, unsigned width, uint64_t value, iommu_error *err) {
        regs_sim *s = (regs_sim *) r;
        const reg_slot *slot;
        int k;

        if (!s->no_log && !GREEDY_REALLOC(s->writes, s->writes_alloc, s->n_writes + 1))
                return iommu_error_set(err, ENOMEM, "Out of memory for the simulated unit's write log");
        k = check_access(s, offset, width, "write", err);
        if (!s->no_log)
                s->writes[s->n_writes++] = (regs_sim_write){
                        .offset = offset,
                        .width = width,
                        .value = value,
                        .refused = k < 0 || s->lat->st.dead,
                };
        if (k < 0)
                return k;
        if (s->lat->st.dead)
                return 0;
        if (width == 32)
                value &= UINT32_MAX;

        slot = slot_at(s, offset);
        change_begin(s);
        if (!slot->l) {
                /* no register here: the bytes read back as written */
                if (width == 32)
                        put32(s, offset, (uint32_t) value);
                else
                        put64(s, offset, value);
        } else if (slot->implemented)
                write_register(s, slot, offset, width, value);
        change_commit(s);

        if (s->oom)
                return iommu_error_set(err, ENOMEM, "Out of memory for the simulated unit's records");
        return 0;
}

static void sim_free(iommu_regs *r) {
        regs_sim *s = (regs_sim *) r;

        if (s->own_area)
                free(s->area);
        free(s->slots);
        free(s->writes);
        free(s->invs);
        free(s->violations);
        free(s);
}

static const iommu_regs_ops sim_ops = {
        .name = "sim",
        .read = sim_read,
        .write = sim_write,
        .free = sim_free,
};

/* Claim the dwords of one register.  Implemented registers must fit the
 * window and not overlap; ones the unit lacks only fill what is free. */
static int place(regs_sim *s, const layout *l, uint64_t start, bool implemented, iommu_error *err) {
        uint64_t bytes = l->width / 8;

        if (start >= s->r.size || s->r.size - start < bytes) {
                if (!implemented)
                        return 0;
                return iommu_error_set(err, EINVAL,
                                       "Register %s at 0x%" PRIx64 " lies outside the 0x%" PRIx64
                                       "-byte register window",
                                       l->name, start, s->r.size);
        }
        for (uint64_t o = start; o < start + bytes; o += 4) {
                reg_slot *slot = &s->slots[o / 4];

                if (slot->l && slot->implemented) {
                        if (!implemented)
                                continue;
                        return iommu_error_set(err, EINVAL,
                                               "Register %s at 0x%" PRIx64 " overlaps register %s", l->name,
                                               start, slot->l->name);
                }
                *slot = (reg_slot){ .l = l, .start = (uint32_t) start, .implemented = implemented };
        }
        return 0;
}

static int place_all(regs_sim *s, bool implemented, iommu_error *err) {
        for (size_t i = 0; i < n_register_layouts; i++) {
                const layout *l = register_layouts[i];
                uint64_t off = layout_offset(l, s->cap, s->ecap);
                unsigned n = l->base == LAYOUT_BASE_FRO ? s->n_records : 1;
                int k;

                if (layout_implemented(l, s->cap, s->ecap) != implemented)
                        continue;
                for (unsigned j = 0; j < n; j++) {
                        k = place(s, l, off + (uint64_t) j * FRCD_STRIDE, implemented, err);
                        if (k < 0)
                                return k;
                }
        }
        return 0;
}

size_t regs_sim_persist_size(const regs_sim_config *cfg) {
        uint64_t size = cfg->size ? cfg->size : SIM_DEFAULT_SIZE;

        if (size % 8 != 0 || size > SIM_MAX_SIZE)
                return 0;
        return REGS_SIM_PERSIST_HEAD + 2 * (size + REGS_SIM_PERSIST_LATCHED);
}

/* A bool kept in memory another process wrote: only 0 or 1 may be read
 * as one. */
static bool bool_byte_ok(const void *p) {
        return *(const uint8_t *) p <= 1;
}

/* What an earlier unit left in persist is this unit's, and a state a unit
 * can be in: anything else is refused before it is used. */
static int check_resumed(regs_sim *s, const regs_sim_config *cfg, iommu_error *err) {
        const sim_head *h = s->head;
        const sim_latched *l;
        uint32_t qs;

        if (memcmp(h->magic, SIM_MAGIC, sizeof SIM_MAGIC) != 0)
                return iommu_error_set(err, EINVAL, "The simulated unit's memory holds no unit");
        if (h->version != SIM_VERSION)
                return iommu_error_set(
                        err, EINVAL, "The simulated unit's memory is of format version %" PRIu32 ", not %u",
                        h->version, SIM_VERSION);
        if (h->window != s->r.size || h->copy != s->copy_size || h->ver != cfg->ver || h->cap != cfg->cap ||
            h->ecap != cfg->ecap)
                return iommu_error_set(err, EINVAL,
                                       "The simulated unit's memory holds another unit: VER 0x%" PRIx32
                                       ", CAP 0x%016" PRIx64 ", ECAP 0x%016" PRIx64 ", a 0x%" PRIx32
                                       "-byte window",
                                       h->ver, h->cap, h->ecap, h->window);
        if (h->active > 1)
                return iommu_error_set(err, EINVAL,
                                       "The simulated unit's memory names copy %" PRIu32 " of 2 as in force",
                                       h->active);
        use_copy(s, h->active);
        l = s->lat;
        qs = l->st.queue_size;
        if (!bool_byte_ok(&l->st.qi_enabled) || !bool_byte_ok(&l->st.queue_256) ||
            !bool_byte_ok(&l->st.dead) || !bool_byte_ok(&l->ite_pending) || l->next_record >= s->n_records ||
            (qs != 0 && (qs % VTD_PAGE_SIZE != 0 || (qs & (qs - 1)) != 0 || qs > (VTD_PAGE_SIZE << 7))) ||
            ((get32(s, REG_GSTS) & BIT32(GSTS, QIES)) && qs == 0))
                return iommu_error_set(err, EINVAL,
                                       "The simulated unit's memory holds a state no unit can be in");
        return 0;
}

/* A unit at reset: the capabilities, and event interrupts masked. */
static void reset(regs_sim *s, const regs_sim_config *cfg) {
        memset(s->area, 0, regs_sim_persist_size(cfg));
        memcpy(s->head->magic, SIM_MAGIC, sizeof SIM_MAGIC);
        s->head->version = SIM_VERSION;
        s->head->window = (uint32_t) s->r.size;
        s->head->ver = cfg->ver;
        s->head->copy = (uint32_t) s->copy_size;
        s->head->cap = cfg->cap;
        s->head->ecap = cfg->ecap;
        s->head->active = 0;
        use_copy(s, 0);
        put32(s, REG_VER, cfg->ver);
        put64(s, REG_CAP, cfg->cap);
        put64(s, REG_ECAP, cfg->ecap);
        put32(s, REG_FECTL, BIT32(FECTL, IM));
        if (slot_at(s, REG_IECTL)->l == &layout_iectl)
                put32(s, REG_IECTL, BIT32(IECTL, IM));
        if (slot_at(s, REG_PECTL)->l == &layout_pectl)
                put32(s, REG_PECTL, BIT32(PECTL, IM));
}

int iommu_regs_new_sim(const regs_sim_config *cfg, iommu_ram *ram, iommu_regs **ret, iommu_error *err) {
        regs_sim *s;
        uint64_t size;
        int k;

        if (!cfg || !ram || !ret || (cfg->resume && !cfg->persist) || ((uintptr_t) cfg->persist & 7))
                return iommu_error_set(err, EINVAL, "Invalid arguments to the simulated unit");
        if (!ram->ops->name || !streq(ram->ops->name, "image"))
                return iommu_error_set(err, EINVAL,
                                       "The simulated unit needs an in-memory image as its memory, not %s",
                                       ram->ops->name ? ram->ops->name : "an unnamed backend");
        size = cfg->size ? cfg->size : SIM_DEFAULT_SIZE;
        if (size % 8 != 0 || size > SIM_MAX_SIZE || cfg->base + size < cfg->base)
                return iommu_error_set(err, EINVAL,
                                       "A register window of 0x%" PRIx64 " bytes at 0x%" PRIx64
                                       " cannot be simulated",
                                       size, cfg->base);

        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->r = (iommu_regs){ .ops = &sim_ops, .base = cfg->base, .size = size };
        s->ram = ram;
        s->cap = cfg->cap;
        s->ecap = cfg->ecap;
        s->no_log = cfg->no_log;
        s->iro = (uint32_t) FIELD_GET(ECAP, IRO, &cfg->ecap) * 16;
        s->fro = (uint32_t) FIELD_GET(CAP, FRO, &cfg->cap) * 16;
        s->n_records = (unsigned) FIELD_GET(CAP, NFR, &cfg->cap) + 1;
        s->reads_left = UINT64_MAX;
        s->copy_size = size + REGS_SIM_PERSIST_LATCHED;
        s->own_area = !cfg->persist;
        s->area = cfg->persist ? cfg->persist : calloc(1, regs_sim_persist_size(cfg));
        s->slots = calloc(size / 4, sizeof *s->slots);
        if (!s->area || !s->slots) {
                sim_free(&s->r);
                return -ENOMEM;
        }
        s->head = (sim_head *) s->area;

        k = place_all(s, false, err);
        if (k >= 0)
                k = place_all(s, true, err);
        if (k >= 0 && cfg->resume)
                k = check_resumed(s, cfg, err);
        if (k < 0) {
                sim_free(&s->r);
                return k;
        }
        if (!cfg->resume)
                reset(s, cfg);

        *ret = &s->r;
        return 0;
}

/* ---- hooks ---- */

const regs_sim_write *regs_sim_writes(iommu_regs *r, size_t *ret_n) {
        regs_sim *s = sim_of(r);

        *ret_n = s ? s->n_writes : 0;
        return s ? s->writes : NULL;
}

uint64_t regs_sim_reads(iommu_regs *r) {
        regs_sim *s = sim_of(r);
        return s ? s->n_reads : 0;
}

const regs_sim_inv *regs_sim_invalidations(iommu_regs *r, size_t *ret_n) {
        regs_sim *s = sim_of(r);

        *ret_n = s ? s->n_invs : 0;
        return s ? s->invs : NULL;
}

const regs_sim_violation *regs_sim_violations(iommu_regs *r, size_t *ret_n) {
        regs_sim *s = sim_of(r);

        *ret_n = s ? s->n_violations : 0;
        return s ? s->violations : NULL;
}

int regs_sim_get_state(iommu_regs *r, regs_sim_state *ret) {
        regs_sim *s = sim_of(r);

        if (!s || !ret)
                return -EINVAL;
        *ret = s->lat->st;
        ret->qi_enabled = get32(s, REG_GSTS) & BIT32(GSTS, QIES);
        return 0;
}

/* Primary fault logging, within a change. */
static int record_fault(regs_sim *s, const regs_sim_fault *f) {
        uint64_t v[2] = {};
        uint32_t off, fsts;
        unsigned idx;

        fsts = get32(s, REG_FSTS);
        if (fsts & BIT32(FSTS, PFO)) {
                s->lat->st.faults_dropped++;
                return -ENOSPC;
        }
        idx = s->lat->next_record;
        off = s->fro + idx * FRCD_STRIDE;
        if (get64(s, off + 8) & (UINT64_C(1) << (FRCD_F_LO - 64))) {
                s->lat->st.faults_dropped++;
                fsts_set(s, BIT32(FSTS, PFO));
                return -ENOSPC;
        }

        v[0] = f->addr & ~(uint64_t) (VTD_PAGE_SIZE - 1);
        FIELD_SET(FRCD, SID, v, f->sid);
        FIELD_SET(FRCD, T2, v, f->type >= REGS_SIM_FAULT_PAGE_REQUEST);
        FIELD_SET(FRCD, T1, v, f->type == REGS_SIM_FAULT_READ || f->type == REGS_SIM_FAULT_ATOMIC);
        FIELD_SET(FRCD, PRIV, v, f->priv);
        FIELD_SET(FRCD, EXE, v, f->exe);
        FIELD_SET(FRCD, PP, v, f->pasid_present);
        FIELD_SET(FRCD, FR, v, f->reason);
        FIELD_SET(FRCD, PV, v, f->pasid);
        FIELD_SET(FRCD, AT, v, f->at);
        FIELD_SET(FRCD, F, v, 1);
        put64(s, off, v[0]);
        put64(s, off + 8, v[1]);
        s->lat->next_record = (idx + 1) % s->n_records;

        if (!(fsts & BIT32(FSTS, PPF))) {
                /* FRI names the record that made PPF rise */
                put32(s, REG_FSTS, (fsts & ~BIT32(FSTS, FRI)) | (uint32_t) idx << FSTS_FRI_LO);
                fsts_set(s, BIT32(FSTS, PPF));
        }
        return (int) idx;
}

int regs_sim_inject_fault(iommu_regs *r, const regs_sim_fault *f) {
        regs_sim *s = sim_of(r);
        int k;

        if (!s || !f || f->type < 0 || f->type >= _REGS_SIM_FAULT_TYPE_MAX || f->pasid >> FRCD_PV_WIDTH ||
            f->at >> FRCD_AT_WIDTH)
                return -EINVAL;

        change_begin(s);
        k = record_fault(s, f);
        change_commit(s);
        return k;
}

void regs_sim_stall_waits(iommu_regs *r, bool on) {
        regs_sim *s = sim_of(r);

        if (!s)
                return;
        s->stall_waits = on;
        if (!on) {
                change_begin(s);
                queue_run(s);
                change_commit(s);
        }
}

void regs_sim_fail_next(iommu_regs *r, regs_sim_error e, uint16_t sid) {
        regs_sim *s = sim_of(r);

        if (!s || e < 0 || e >= _REGS_SIM_ERROR_MAX)
                return;
        s->fail = e;
        s->fail_sid = sid;
}

void regs_sim_fail_reads(iommu_regs *r, bool on) {
        regs_sim *s = sim_of(r);

        if (s)
                s->fail_reads = on;
}

void regs_sim_die_after_reads(iommu_regs *r, uint64_t n) {
        regs_sim *s = sim_of(r);

        if (s)
                s->reads_left = n;
}
