/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The root table and device entries of an owned unit (entries.h). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "basic/alloc-util.h"
#include "basic/string-table.h"
#include "control/entries.h"
#include "decode/entries.h"
#include "decode/regs.h"
#include "decode/values.h"

static const char *const unit_mode_table[_UNIT_MODE_MAX] = {
        [UNIT_MODE_LEGACY] = "legacy",
        [UNIT_MODE_SCALABLE] = "scalable",
};
DEFINE_STRING_TABLE_LOOKUP(unit_mode, unit_mode, unit_mode_table, _UNIT_MODE_MAX, _UNIT_MODE_INVALID)

/* One PASID directory of 128 entries (PDTS 0: 2^(0+7)), in a page of its
 * own; PASID 0 is entry 0 of the table its entry 0 points at. */
#define PDTS_128 0

struct unit_tables {
        table_mem *mem;
        unit_mode mode;
        bool coherent;
        uint64_t root;
        uint64_t *root_virt;
        unit_tables_store_hook hook;
        void *hook_userdata;
};

unit_mode unit_tables_mode(const unit_tables *t) {
        return t->mode;
}

uint64_t unit_tables_rtaddr(const unit_tables *t) {
        return t->root | (t->mode == UNIT_MODE_SCALABLE ? (uint64_t) TTM_SCALABLE << RTADDR_TTM_LO : 0);
}

void unit_tables_set_store_hook(unit_tables *t, unit_tables_store_hook hook, void *userdata) {
        t->hook = hook;
        t->hook_userdata = userdata;
}

static void flush(const unit_tables *t, const void *p, size_t size) {
        if (t->coherent)
                return;
#if defined(__x86_64__) || defined(__i386__)
        for (size_t off = 0; off < size; off += 64)
                __builtin_ia32_clflush((const uint8_t *) p + off);
#endif
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* A store hardware may see: 64 bits at once, after what came before. */
static void store(unit_tables *t, uint64_t *e, uint64_t v) {
        table_mem_before_store(t->mem, e);
        __atomic_store_n(e, v, __ATOMIC_RELEASE);
        flush(t, e, sizeof *e);
        if (t->hook)
                t->hook(t->hook_userdata);
}

/* A multi-word entry hardware may read at any moment: every word cleared
 * (not present, nothing half-old), then the upper words, then the lowest
 * with its present bit, so no walk ever sees it torn. */
static void store_entry(unit_tables *t, uint64_t *e, const uint64_t *v, unsigned words, unsigned p_bit) {
        for (unsigned q = 0; q < words; q++)
                store(t, &e[q], 0);
        for (unsigned q = words - 1; q >= 1; q--)
                store(t, &e[q], v[q]);
        store(t, &e[0], v[0] | UINT64_C(1) << p_bit);
}

static uint64_t *virt_of(const unit_tables *t, uint64_t phys) {
        return table_mem_virt(t->mem, phys);
}

int unit_tables_new(table_mem *mem, unit_mode mode, bool coherent, unit_tables **ret, iommu_error *err) {
        _cleanup_free_ unit_tables *t = calloc(1, sizeof *t);
        void *root;
        int r;

        if (!t)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        if (mode < 0 || mode >= _UNIT_MODE_MAX)
                return iommu_error_set(err, EINVAL, "Unknown unit mode %d", (int) mode);
        *t = (unit_tables){ .mem = mem, .mode = mode, .coherent = coherent };
        r = table_mem_alloc_page(mem, &root, &t->root, err);
        if (r < 0)
                return r;
        t->root_virt = root;
        flush(t, root, VTD_PAGE_SIZE);
        *ret = TAKE_PTR(t);
        return 0;
}

/* ---- where a device's entries are ---- */

/* The context table of bus (and half, scalable) if linked, else NULL. */
static uint64_t *context_table(const unit_tables *t, uint8_t bus, uint8_t devfn) {
        const uint64_t *re = &t->root_virt[bus * 2];

        if (t->mode == UNIT_MODE_LEGACY)
                return root_present(re) ? virt_of(t, root_ctp(re)) : NULL;
        if (devfn < 128)
                return FIELD_GET(SM_ROOT, LP, re) ? virt_of(t, FIELD_ADDR(SM_ROOT, LCTP, re)) : NULL;
        return FIELD_GET(SM_ROOT, UP, re) ? virt_of(t, FIELD_ADDR(SM_ROOT, UCTP, re)) : NULL;
}

static uint64_t *context_entry(const unit_tables *t, uint8_t bus, uint8_t devfn) {
        uint64_t *ct = context_table(t, bus, devfn);

        if (!ct)
                return NULL;
        return t->mode == UNIT_MODE_LEGACY ? &ct[devfn * 2] : &ct[(devfn % 128) * 4];
}

/* Scalable: the PASID 0 entry of a device whose context entry is present. */
static uint64_t *pasid0_entry(const unit_tables *t, const uint64_t *ce) {
        const uint64_t *dir;

        if (!ce || !FIELD_GET(SM_CONTEXT, P, ce))
                return NULL;
        dir = virt_of(t, FIELD_ADDR(SM_CONTEXT, PASIDDIRPTR, ce));
        if (!dir || !FIELD_GET(PASID_DIR, P, &dir[0]))
                return NULL;
        return virt_of(t, FIELD_ADDR(PASID_DIR, SMPTBLPTR, &dir[0]));
}

device_entry unit_tables_get(const unit_tables *t, uint8_t bus, uint8_t devfn) {
        const uint64_t *ce = context_entry(t, bus, devfn), *pe;
        device_entry e = { .translation = ENTRY_BLOCKED };

        if (t->mode == UNIT_MODE_LEGACY) {
                if (!ce || !FIELD_GET(CONTEXT, P, ce))
                        return e;
                e.did = (uint16_t) FIELD_GET(CONTEXT, DID, ce);
                e.levels = aw_levels(FIELD_GET(CONTEXT, AW, ce));
                if (FIELD_GET(CONTEXT, TT, ce) == CONTEXT_TT_PASS_THROUGH)
                        e.translation = ENTRY_PASS_THROUGH;
                else {
                        e.translation = ENTRY_PAGING;
                        e.root = FIELD_ADDR(CONTEXT, SSPTPTR, ce);
                }
                return e;
        }
        pe = pasid0_entry(t, ce);
        if (!pe || !FIELD_GET(PASID, P, pe))
                return e;
        e.did = (uint16_t) FIELD_GET(PASID, DID, pe);
        e.levels = aw_levels(FIELD_GET(PASID, AW, pe));
        if (FIELD_GET(PASID, PGTT, pe) == PGTT_PASS_THROUGH)
                e.translation = ENTRY_PASS_THROUGH;
        else {
                e.translation = ENTRY_PAGING;
                e.root = FIELD_ADDR(PASID, SSPTPTR, pe);
        }
        return e;
}

/* ---- making entries present ---- */

/* A new, zeroed table page linked through *entry (64-bit word of a root
 * entry or PASID directory entry) with the present bit: one store, the
 * table empty and so complete. */
static uint64_t *link_new_table(unit_tables *t, uint64_t *entry, uint64_t present_bits, iommu_error *err) {
        uint64_t phys;
        void *virt;

        if (table_mem_alloc_page(t->mem, &virt, &phys, err) < 0)
                return NULL;
        flush(t, virt, VTD_PAGE_SIZE);
        store(t, entry, phys | present_bits);
        return virt;
}

static int context_table_for(unit_tables *t, uint8_t bus, uint8_t devfn, uint64_t **ret, iommu_error *err) {
        uint64_t *re = &t->root_virt[bus * 2], *ct = context_table(t, bus, devfn);

        if (!ct) {
                if (t->mode == UNIT_MODE_LEGACY)
                        ct = link_new_table(t, &re[0], UINT64_C(1) << ROOT_P_LO, err);
                else if (devfn < 128)
                        ct = link_new_table(t, &re[0], UINT64_C(1) << SM_ROOT_LP_LO, err);
                else
                        ct = link_new_table(t, &re[1], UINT64_C(1) << (SM_ROOT_UP_LO - 64), err);
                if (!ct)
                        return -ENOMEM;
        }
        *ret = ct;
        return 0;
}

static int check_entry(const device_entry *e, iommu_error *err) {
        if (e->translation == ENTRY_PAGING && (!e->root || e->root % VTD_PAGE_SIZE))
                return iommu_error_set(err, EINVAL,
                                       "A paging entry needs a page-aligned second-stage table");
        if (e->translation != ENTRY_BLOCKED && (e->levels < 3 || e->levels > 5))
                return iommu_error_set(err, EINVAL, "An entry's tables have 3 to 5 levels, not %u",
                                       e->levels);
        if (e->translation != ENTRY_PAGING && e->translation != ENTRY_PASS_THROUGH)
                return iommu_error_set(err, EINVAL, "Only a paging or pass-through entry is installed");
        return 0;
}

/* The words of a device's present entry as install writes them, but for
 * the present bit: legacy context entry (2), PASID entry (8). */
static void legacy_words(const device_entry *e, uint64_t v[static 2]) {
        v[0] = v[1] = 0;
        FIELD_SET(CONTEXT, DID, v, e->did);
        FIELD_SET(CONTEXT, AW, v, e->levels - 2);
        FIELD_SET(CONTEXT, TT, v,
                  e->translation == ENTRY_PASS_THROUGH ? CONTEXT_TT_PASS_THROUGH : CONTEXT_TT_MULTI_LEVEL);
        if (e->translation == ENTRY_PAGING)
                v[0] |= e->root;
}

static void pasid_words(const device_entry *e, uint64_t v[static 8]) {
        memset(v, 0, 8 * sizeof *v);
        FIELD_SET(PASID, DID, v, e->did);
        FIELD_SET(PASID, AW, v, e->levels - 2);
        FIELD_SET(PASID, PGTT, v,
                  e->translation == ENTRY_PASS_THROUGH ? PGTT_PASS_THROUGH : PGTT_SECOND_STAGE);
        if (e->translation == ENTRY_PAGING)
                v[0] |= e->root;
}

static int install_legacy(unit_tables *t, uint8_t bus, uint8_t devfn, const device_entry *e,
                          iommu_error *err) {
        uint64_t *ct, v[2];
        int r;

        r = context_table_for(t, bus, devfn, &ct, err);
        if (r < 0)
                return r;
        legacy_words(e, v);
        store_entry(t, &ct[devfn * 2], v, 2, CONTEXT_P_LO);
        return 0;
}

/* Scalable: the device's context entry, PASID directory and PASID table,
 * made once: the table and directory complete before the context entry
 * (RID_PASID 0, PDTS 0) points at them. */
static int sm_context_for(unit_tables *t, uint8_t bus, uint8_t devfn, uint64_t **ret_pasid_table,
                          iommu_error *err) {
        uint64_t *ct, *ce, *dir, dir_phys, table_phys, v[4] = {};
        void *dir_virt, *table_virt;
        int r;

        r = context_table_for(t, bus, devfn, &ct, err);
        if (r < 0)
                return r;
        ce = &ct[(devfn % 128) * 4];
        if (FIELD_GET(SM_CONTEXT, P, ce)) {
                *ret_pasid_table = pasid0_entry(t, ce);
                return *ret_pasid_table ? 0 : iommu_error_set(err, EIO, "The PASID directory is gone");
        }
        r = table_mem_alloc_page(t->mem, &dir_virt, &dir_phys, err);
        if (r < 0)
                return r;
        r = table_mem_alloc_page(t->mem, &table_virt, &table_phys, err);
        if (r < 0) {
                table_mem_free_page(t->mem, dir_phys);
                return r;
        }
        dir = dir_virt;
        dir[0] = table_phys | UINT64_C(1) << PASID_DIR_P_LO;
        flush(t, table_virt, VTD_PAGE_SIZE);
        flush(t, dir_virt, VTD_PAGE_SIZE);

        FIELD_SET(SM_CONTEXT, PDTS, v, PDTS_128);
        FIELD_SET(SM_CONTEXT, RID_PASID, v, 0);
        v[0] |= dir_phys;
        store_entry(t, ce, v, 4, SM_CONTEXT_P_LO);
        *ret_pasid_table = table_virt;
        return 0;
}

static int install_scalable(unit_tables *t, uint8_t bus, uint8_t devfn, const device_entry *e,
                            iommu_error *err) {
        uint64_t *pe, v[8];
        int r;

        r = sm_context_for(t, bus, devfn, &pe, err);
        if (r < 0)
                return r;
        pasid_words(e, v);
        store_entry(t, pe, v, 8, PASID_P_LO);
        return 0;
}

int unit_tables_install(unit_tables *t, uint8_t bus, uint8_t devfn, const device_entry *e,
                        iommu_error *err) {
        int r = check_entry(e, err);

        if (r < 0)
                return r;
        if (unit_tables_get(t, bus, devfn).translation != ENTRY_BLOCKED)
                return iommu_error_set(err, EBUSY, "%02x:%02x.%x has a present entry: clear it first", bus,
                                       devfn >> 3, devfn & 7);
        return t->mode == UNIT_MODE_LEGACY ? install_legacy(t, bus, devfn, e, err)
                                           : install_scalable(t, bus, devfn, e, err);
}

int unit_tables_clear(unit_tables *t, uint8_t bus, uint8_t devfn, device_entry *ret_old, iommu_error *err) {
        device_entry old = unit_tables_get(t, bus, devfn);
        uint64_t *ce = context_entry(t, bus, devfn), *pe;

        if (old.translation == ENTRY_BLOCKED)
                return iommu_error_set(err, ENOENT, "%02x:%02x.%x has no present entry", bus, devfn >> 3,
                                       devfn & 7);
        if (t->mode == UNIT_MODE_LEGACY)
                store(t, &ce[0], ce[0] & ~(UINT64_C(1) << CONTEXT_P_LO));
        else {
                pe = pasid0_entry(t, ce);
                store(t, &pe[0], pe[0] & ~(UINT64_C(1) << PASID_P_LO));
        }
        if (ret_old)
                *ret_old = old;
        return 0;
}

static void free_sm_context(unit_tables *t, const uint64_t *ce) {
        uint64_t dirp = FIELD_ADDR(SM_CONTEXT, PASIDDIRPTR, ce);
        const uint64_t *dir = virt_of(t, dirp);

        if (dir && FIELD_GET(PASID_DIR, P, &dir[0]))
                table_mem_free_page(t->mem, FIELD_ADDR(PASID_DIR, SMPTBLPTR, &dir[0]));
        table_mem_free_page(t->mem, dirp);
}

unit_tables *unit_tables_abandon(unit_tables *t) {
        free(t);
        return NULL;
}

unit_tables *unit_tables_free(unit_tables *t) {
        if (!t)
                return NULL;
        for (unsigned bus = 0; bus < 256; bus++)
                for (unsigned half = 0; half < (t->mode == UNIT_MODE_LEGACY ? 1u : 2u); half++) {
                        uint64_t *ct = context_table(t, (uint8_t) bus, (uint8_t) (half * 128));
                        uint64_t phys;

                        if (!ct)
                                continue;
                        for (unsigned i = 0; t->mode == UNIT_MODE_SCALABLE && i < 128; i++)
                                if (FIELD_GET(SM_CONTEXT, P, &ct[i * 4]))
                                        free_sm_context(t, &ct[i * 4]);
                        phys = t->mode == UNIT_MODE_LEGACY ? root_ctp(&t->root_virt[bus * 2])
                               : half == 0 ? FIELD_ADDR(SM_ROOT, LCTP, &t->root_virt[bus * 2])
                                           : FIELD_ADDR(SM_ROOT, UCTP, &t->root_virt[bus * 2]);
                        table_mem_free_page(t->mem, phys);
                }
        table_mem_free_page(t->mem, t->root);
        free(t);
        return NULL;
}

/* ---- taking back tables hardware walks ---- */

typedef struct adopt_walk {
        unit_tables *t;
        table_mem_claims claims; /* handed back on a refusal */
        iommu_error *err;
} adopt_walk;

static int adopt_claim(adopt_walk *w, uint64_t phys, const char *what) {
        return table_mem_claims_add(&w->claims, phys, what, w->err);
}

static int not_ours(adopt_walk *w, const char *what, uint8_t bus, uint8_t devfn, uint64_t at,
                    const uint64_t *v, unsigned words) {
        char text[8 * 17 + 1] = "";

        for (unsigned q = words; q > 0; q--)
                snprintf(text + strlen(text), sizeof text - strlen(text), "%016" PRIx64, v[q - 1]);
        return iommu_error_set(w->err, EPROTO,
                               "The %s of %02x:%02x.%x at 0x%" PRIx64 " is 0x%s: not an entry iommud writes",
                               what, bus, devfn >> 3, devfn & 7, at, text);
}

/* A present entry's device_entry, when it is one install writes: its
 * words, but for the present bit, are what install makes of it. */
static bool decode_present(const unit_tables *t, const uint64_t *v, device_entry *ret) {
        device_entry e = {};
        uint64_t want[8];
        unsigned tt, words = t->mode == UNIT_MODE_LEGACY ? 2 : 8;

        if (t->mode == UNIT_MODE_LEGACY) {
                tt = (unsigned) FIELD_GET(CONTEXT, TT, v);
                if (tt != CONTEXT_TT_MULTI_LEVEL && tt != CONTEXT_TT_PASS_THROUGH)
                        return false;
                e.translation = tt == CONTEXT_TT_PASS_THROUGH ? ENTRY_PASS_THROUGH : ENTRY_PAGING;
                e.did = (uint16_t) FIELD_GET(CONTEXT, DID, v);
                e.levels = (unsigned) FIELD_GET(CONTEXT, AW, v) + 2;
                if (e.translation == ENTRY_PAGING)
                        e.root = FIELD_ADDR(CONTEXT, SSPTPTR, v);
                legacy_words(&e, want);
                want[0] |= UINT64_C(1) << CONTEXT_P_LO;
        } else {
                tt = (unsigned) FIELD_GET(PASID, PGTT, v);
                if (tt != PGTT_SECOND_STAGE && tt != PGTT_PASS_THROUGH)
                        return false;
                e.translation = tt == PGTT_PASS_THROUGH ? ENTRY_PASS_THROUGH : ENTRY_PAGING;
                e.did = (uint16_t) FIELD_GET(PASID, DID, v);
                e.levels = (unsigned) FIELD_GET(PASID, AW, v) + 2;
                if (e.translation == ENTRY_PAGING)
                        e.root = FIELD_ADDR(PASID, SSPTPTR, v);
                pasid_words(&e, want);
                want[0] |= UINT64_C(1) << PASID_P_LO;
        }
        if (e.levels < 3 || e.levels > 5 || (e.translation == ENTRY_PAGING && !e.root))
                return false;
        if (memcmp(want, v, words * sizeof *v) != 0)
                return false;
        *ret = e;
        return true;
}

/* A present device entry: one install writes, pointing (paging) at a page
 * of table memory, whose tables are the domain's to take back. */
static int adopt_device(adopt_walk *w, const char *what, uint8_t bus, uint8_t devfn, uint64_t at,
                        const uint64_t *v) {
        unsigned words = w->t->mode == UNIT_MODE_LEGACY ? 2 : 8;
        device_entry e;

        if (!decode_present(w->t, v, &e))
                return not_ours(w, what, bus, devfn, at, v, words);
        if (e.translation == ENTRY_PAGING && !table_mem_virt(w->t->mem, e.root))
                return iommu_error_set(w->err, EPROTO,
                                       "The %s of %02x:%02x.%x points at tables at 0x%" PRIx64
                                       ", outside table memory",
                                       what, bus, devfn >> 3, devfn & 7, e.root);
        return 0;
}

static bool zero_from(const uint64_t *p, unsigned from, unsigned to) {
        for (unsigned i = from; i < to; i++)
                if (p[i])
                        return false;
        return true;
}

/* Scalable: a present context entry as sm_context_for makes it (PDTS 0,
 * RID_PASID 0, the directory), its directory (entry 0 only), its PASID
 * table (the entry of PASID 0 only). */
static int adopt_sm_context(adopt_walk *w, uint8_t bus, uint8_t devfn, uint64_t at, const uint64_t *ce) {
        uint64_t dirp = FIELD_ADDR(SM_CONTEXT, PASIDDIRPTR, ce), tablep;
        const uint64_t *dir, *pt;
        int r;

        if (ce[0] != (dirp | UINT64_C(1) << SM_CONTEXT_P_LO) || !zero_from(ce, 1, 4))
                return not_ours(w, "context entry", bus, devfn, at, ce, 4);
        r = adopt_claim(w, dirp, "The PASID directory at");
        if (r < 0)
                return r;
        dir = virt_of(w->t, dirp);
        tablep = FIELD_ADDR(PASID_DIR, SMPTBLPTR, &dir[0]);
        if (dir[0] != (tablep | UINT64_C(1) << PASID_DIR_P_LO) || !zero_from(dir, 1, 512))
                return iommu_error_set(w->err, EPROTO,
                                       "The PASID directory of %02x:%02x.%x at 0x%" PRIx64
                                       " is not one iommud writes (entry 0 0x%016" PRIx64 ")",
                                       bus, devfn >> 3, devfn & 7, dirp, dir[0]);
        r = adopt_claim(w, tablep, "The PASID table at");
        if (r < 0)
                return r;
        pt = virt_of(w->t, tablep);
        if (!zero_from(pt, 8, 512))
                return iommu_error_set(w->err, EPROTO,
                                       "The PASID table of %02x:%02x.%x at 0x%" PRIx64
                                       " has entries for PASIDs other than 0",
                                       bus, devfn >> 3, devfn & 7, tablep);
        /* a PASID entry that went away keeps its words but the present
         * bit (unit_tables_clear): only a present one says anything */
        if (!FIELD_GET(PASID, P, pt))
                return 0;
        return adopt_device(w, "PASID entry", bus, devfn, tablep, pt);
}

static int adopt_context_table(adopt_walk *w, uint8_t bus, unsigned half, uint64_t ctp) {
        const uint64_t *ct;
        int r;

        r = adopt_claim(w, ctp, "The context table at");
        if (r < 0)
                return r;
        ct = virt_of(w->t, ctp);
        for (unsigned i = 0; i < (w->t->mode == UNIT_MODE_LEGACY ? 256u : 128u); i++) {
                uint8_t devfn = (uint8_t) (half * 128 + i);

                if (w->t->mode == UNIT_MODE_LEGACY) {
                        /* a legacy entry that went away keeps its words but P */
                        if (FIELD_GET(CONTEXT, P, &ct[i * 2]))
                                r = adopt_device(w, "context entry", bus, devfn, ctp + i * 16, &ct[i * 2]);
                } else if (FIELD_GET(SM_CONTEXT, P, &ct[i * 4]))
                        r = adopt_sm_context(w, bus, devfn, ctp + i * 32, &ct[i * 4]);
                else if (!zero_from(&ct[i * 4], 0, 4))
                        r = not_ours(w, "context entry", bus, devfn, ctp + i * 32, &ct[i * 4], 4);
                if (r < 0)
                        return r;
        }
        return 0;
}

int unit_tables_adopt(table_mem *mem, unit_mode mode, bool coherent, uint64_t rtaddr, unit_tables **ret,
                      iommu_error *err) {
        _cleanup_free_ unit_tables *t = calloc(1, sizeof *t);
        adopt_walk w = { .claims = { .mem = mem }, .err = err };
        uint64_t ttm = FIELD_GET(RTADDR, TTM, &rtaddr);
        int r;

        if (!t)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        if (mode < 0 || mode >= _UNIT_MODE_MAX)
                return iommu_error_set(err, EINVAL, "Unknown unit mode %d", (int) mode);
        if (ttm != (mode == UNIT_MODE_SCALABLE ? TTM_SCALABLE : TTM_LEGACY))
                return iommu_error_set(
                        err, EPROTO, "RTADDR 0x%" PRIx64 " selects %s tables (TTM %" PRIu64 "), not %s ones",
                        rtaddr,
                        ttm == TTM_SCALABLE ? "scalable"
                        : ttm == TTM_LEGACY ? "legacy"
                                            : "reserved",
                        ttm, unit_mode_to_string(mode));
        *t = (unit_tables){
                .mem = mem, .mode = mode, .coherent = coherent, .root = FIELD_ADDR(RTADDR, RTA, &rtaddr)
        };
        w.t = t;
        r = adopt_claim(&w, t->root, "The root table at");
        if (r >= 0)
                t->root_virt = virt_of(t, t->root);
        for (unsigned bus = 0; r >= 0 && bus < 256; bus++) {
                const uint64_t *re = &t->root_virt[bus * 2];
                uint64_t lo = re[0] & ~(UINT64_C(1) << ROOT_P_LO), hi = re[1] & ~UINT64_C(1);

                /* the present bits and table addresses, nothing else; an
                 * address only where its present bit is */
                if ((re[0] & 1 ? lo % VTD_PAGE_SIZE || !lo : lo != 0) ||
                    (mode == UNIT_MODE_LEGACY ? re[1] != 0
                     : re[1] & 1              ? hi % VTD_PAGE_SIZE || !hi
                                              : hi != 0)) {
                        r = iommu_error_set(err, EPROTO,
                                            "The root entry of bus %02x at 0x%" PRIx64 " is 0x%016" PRIx64
                                            "%016" PRIx64 ": not an entry iommud writes",
                                            bus, t->root + bus * 16, re[1], re[0]);
                        break;
                }
                if (re[0] & 1)
                        r = adopt_context_table(&w, (uint8_t) bus, 0, lo);
                if (r >= 0 && mode == UNIT_MODE_SCALABLE && (re[1] & 1))
                        r = adopt_context_table(&w, (uint8_t) bus, 1, hi);
        }
        table_mem_claims_done(&w.claims, r >= 0);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(t);
        return 0;
}
