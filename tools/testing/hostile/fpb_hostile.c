// SPDX-License-Identifier: GPL-2.0
/*
 * A hostile FPB guest, for tests only: never installed, not part of the
 * guest module in guest/.  It talks the ABI of
 * Documentation/virt/kvm/fpb-abi.rst directly and lies to the host in the
 * ways a broken or malicious guest could:
 *
 *   hdr=WHERE      where the header region lives
 *   bm=WHERE       where chunk bm_chunk's bitmap lives
 *   nr_chunks=N    entries in the chunk table (0: enough for RAM)
 *   free=LIST      pfns to mark free: "A-B" (inclusive), "A", "vram" (the
 *                  VGA BAR), comma separated
 *   own=A-B        pfns the guest kernel was told to leave alone (boot it
 *                  with memmap=SIZE$ADDR): fill them with a pattern and
 *                  mark them free too, the pages a host may drop without
 *                  hurting anyone
 *   pam_rw=1       make the chipset's ROM shadow (0xc0000-0xfffff)
 *                  writable while loaded, so a header or bitmap fits there
 *   vram_fill=1    fill the VGA's VRAM with a pattern at load
 *   storm_ms=N     after the first answer, repeat it for N ms without pause
 *   storm_all=1    instead, from load on, one kthread bound to each online
 *                  CPU alternates REGISTER (of this header) and
 *                  SNAPSHOT_DONE without pause for storm_ms
 *   seq_attack=odd answer with seq left odd, and pass that as a2; =claim:
 *                  the same, but a2 claims the even value that would
 *                  follow; =flip: a kthread on another CPU adds 2 to seq
 *                  without pause, so that seq never holds between the
 *                  host's reads
 *   chunk_flip=W   a kthread rewrites chunk bm_chunk's entry without pause,
 *                  alternating between its bitmap (every owned page free)
 *                  and W: ram (a second bitmap marking only the first half
 *                  of the owned pages), vram, beyond or a GPA
 *   bogus=1        around each answer, answer requests never made (the
 *                  request plus 1000), the previous request answered (from
 *                  an earlier pass or migration) and the same request again;
 *                  these mark every owned page free, the real answer only
 *                  the first half, so a bogus answer applied shows as a
 *                  zero page in the second half
 *   free_hdr=1     after REGISTER, free the header page without UNREGISTER,
 *                  allocate it again and fill it with a pattern: status
 *                  "reused_diff" counts the words that no longer hold it
 *   chunk_shift=N  the header's chunk_shift (and the bitmaps' size)
 *   region=BYTES   the region size passed to REGISTER (0: what the table
 *                  needs, rounded up to pages)
 *   hdr_off=BYTES  register the header's GPA plus this (unaligned)
 *   bm_entry=HOW   chunk bm_chunk's entry: unaligned (its bitmap + 0x800),
 *                  flags (an unknown flag bit), hdr (the header page),
 *                  prev (chunk bm_chunk - 1's bitmap)
 *
 * WHERE is ram (the default), rom (the ROM shadow), vram (the VGA BAR),
 * zero (GPA 0), beyond (the first GPA past the machine's RAM) or a GPA.
 * Like the real module it polls the header for requests and answers each
 * one.
 * /sys/kernel/debug/fpb_hostile/status shows what the host answered and
 * the state of the owned pages: "owned_zero" counts those that read as
 * zero, i.e. that the host dropped when this guest was migrated.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/kvm_para.h>
#include <linux/kvm_fpb.h>
#include <linux/list.h>
#include <linux/ioport.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>

static char *hdr = "ram";
module_param(hdr, charp, 0444);
MODULE_PARM_DESC(hdr, "Where the header lives: ram, rom, vram, zero, beyond or a GPA");

static char *bm = "ram";
module_param(bm, charp, 0444);
MODULE_PARM_DESC(bm, "Where chunk bm_chunk's bitmap lives: as hdr");

static unsigned int bm_chunk;
module_param(bm_chunk, uint, 0444);
MODULE_PARM_DESC(bm_chunk, "The chunk whose bitmap bm places");

static unsigned int nr_chunks;
module_param(nr_chunks, uint, 0444);
MODULE_PARM_DESC(nr_chunks, "Chunk table entries (0: cover RAM)");

static char *free = "";
module_param(free, charp, 0444);
MODULE_PARM_DESC(free, "pfns to mark free: A-B,A,vram");

static char *own = "";
module_param(own, charp, 0444);
MODULE_PARM_DESC(own, "pfns A-B reserved with memmap= to fill and mark free");

static bool pam_rw;
module_param(pam_rw, bool, 0444);
MODULE_PARM_DESC(pam_rw, "Make the ROM shadow writable while loaded");

static bool vram_fill;
module_param(vram_fill, bool, 0444);
MODULE_PARM_DESC(vram_fill, "Fill the VGA's VRAM with a pattern at load");

static unsigned int storm_ms;
module_param(storm_ms, uint, 0444);
MODULE_PARM_DESC(storm_ms, "Repeat the first answer for this many ms");

static bool storm_all;
module_param(storm_all, bool, 0444);
MODULE_PARM_DESC(storm_all, "REGISTER and SNAPSHOT_DONE storm on every CPU");

static char *seq_attack = "";
module_param(seq_attack, charp, 0444);
MODULE_PARM_DESC(seq_attack, "odd, claim: seq left odd; flip: seq moves");

static char *chunk_flip = "";
module_param(chunk_flip, charp, 0444);
MODULE_PARM_DESC(chunk_flip, "Rewrite chunk bm_chunk's entry: ram, vram, beyond");

static bool bogus;
module_param(bogus, bool, 0444);
MODULE_PARM_DESC(bogus, "Answer requests never made, old ones, twice");

static bool free_hdr;
module_param(free_hdr, bool, 0444);
MODULE_PARM_DESC(free_hdr, "Free the header without UNREGISTER and reuse it");

static unsigned int chunk_shift = KVM_FPB_CHUNK_SHIFT_MIN;
module_param(chunk_shift, uint, 0444);
MODULE_PARM_DESC(chunk_shift, "The header's chunk_shift");

static unsigned long region;
module_param(region, ulong, 0444);
MODULE_PARM_DESC(region, "Region bytes passed to REGISTER (0: as needed)");

static unsigned long hdr_off;
module_param(hdr_off, ulong, 0444);
MODULE_PARM_DESC(hdr_off, "Add this to the header GPA passed to REGISTER");

static char *bm_entry = "";
module_param(bm_entry, charp, 0444);
MODULE_PARM_DESC(bm_entry, "Chunk bm_chunk's entry: unaligned, flags, hdr, prev");

static unsigned int poll_ms = 10;
module_param(poll_ms, uint, 0444);
MODULE_PARM_DESC(poll_ms, "How often to look for a request, ms");

#define CHUNK_SHIFT	chunk_shift
#define BM_BYTES	(1UL << (CHUNK_SHIFT - 3))
#define MAX_RANGES	16
#define MAX_OLD		8
#define BOGUS_AHEAD	1000
#define ROM_HDR		0xd0000UL	/* inside the ROM shadow */
#define ROM_BM		0xd8000UL
#define VRAM_HDR	(8UL << 20)	/* offsets into the VGA BAR */
#define VRAM_BM		(12UL << 20)
#define PATTERN		0x486f7374696c6521ULL

enum where { W_RAM, W_ROM, W_VRAM, W_ZERO, W_BEYOND, W_GPA };

static const char * const where_name[] = {
	"ram", "rom", "vram", "zero", "beyond", "gpa",
};

struct pfn_range {
	u64 first, last;
};

/* A place outside the page allocator: its GPA and a mapping, if any. */
struct place {
	enum where where;
	u64 gpa;
	void *va;
	bool mapped;			/* by memremap() */
};

struct hostile {
	struct pfn_range marks[MAX_RANGES];
	int nr_marks;
	u64 own_first;
	unsigned int nr_owned;
	u64 *owned;			/* mapping of the owned pages */
	u64 vram_start, vram_len;
	u8 pam_saved[7];
	int pam_base;
	struct pci_dev *host_bridge;
	u8 *page0_saved;

	struct place hdr;
	struct kvm_fpb_header *h;
	unsigned long region_bytes;	/* what REGISTER says */
	unsigned long alloc_bytes;	/* what the header region has */
	unsigned int nr_chunks;
	void **bitmaps;			/* RAM bitmaps, one per chunk */
	struct place bad;		/* chunk bm_chunk's bitmap, unless RAM */
	bool has_bad;

	long register_ret;
	u64 answered, answers, applied, discarded, refused;
	long last_ret;
	u64 storm_calls;
	bool stormed;
	struct task_struct *poller;
	struct dentry *dbg;

	/* storm_all: one kthread per CPU, and what they got back. */
	struct task_struct **stormers;
	atomic64_t storm_register, storm_done, storm_other;

	/* seq_attack=flip and chunk_flip: the kthread that rewrites. */
	struct task_struct *flipper;
	u64 flips;
	u64 held, moved_applied;	/* seq_attack=flip, see call_flipping() */
	void *half;			/* chunk_flip=ram: the second bitmap */
	u64 flip_alt;			/* the entry it alternates with */

	/* bogus: answers to nothing outstanding, and their results. */
	u64 bogus_calls, bogus_bad;
	u64 old_req[MAX_OLD];
	long old_ret[MAX_OLD];
	unsigned int nr_old;

	/* free_hdr: the page the header was in, reused. */
	u64 *reused;
	u64 reused_gpa;
};

static struct hostile hs;

static long fpb_call(unsigned long op, unsigned long a1, unsigned long a2)
{
	return kvm_hypercall3(KVM_HC_FPB, op, a1, a2);
}

static int ram_end_fn(struct resource *res, void *arg)
{
	u64 *end = arg;

	*end = max_t(u64, *end, res->end + 1);
	return 0;
}

/* One past the highest System RAM address the guest kernel knows. */
static u64 ram_end(void)
{
	u64 end = 0;

	walk_iomem_res_desc(IORES_DESC_NONE,
			    IORESOURCE_SYSTEM_RAM | IORESOURCE_BUSY, 0, -1,
			    &end, ram_end_fn);
	return end;
}

/*
 * The first GPA past the machine's RAM.  The kernel's last System RAM
 * page is not the end: the firmware reserves the top of RAM (e820), which
 * is still RAM to the host.  The test machines have whole GiBs of RAM.
 */
static u64 beyond_ram(void)
{
	return ALIGN(ram_end(), SZ_1G);
}

static u64 chunk_entry(unsigned int i)
{
	u64 gpa = virt_to_phys(hs.bitmaps[i]);

	if (i == bm_chunk && hs.has_bad)
		return hs.bad.gpa | KVM_FPB_CHUNK_PRESENT;
	if (i != bm_chunk || !*bm_entry)
		return gpa | KVM_FPB_CHUNK_PRESENT;
	if (sysfs_streq(bm_entry, "unaligned"))
		return (gpa + 0x800) | KVM_FPB_CHUNK_PRESENT;
	if (sysfs_streq(bm_entry, "flags"))
		return gpa | KVM_FPB_CHUNK_PRESENT | 2;
	if (sysfs_streq(bm_entry, "hdr"))
		return hs.hdr.gpa | KVM_FPB_CHUNK_PRESENT;
	if (sysfs_streq(bm_entry, "prev") && i)
		return virt_to_phys(hs.bitmaps[i - 1]) | KVM_FPB_CHUNK_PRESENT;
	return gpa | KVM_FPB_CHUNK_PRESENT;
}

static int parse_where(const char *s, enum where *w, u64 *gpa)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(where_name); i++) {
		if (i != W_GPA && sysfs_streq(s, where_name[i])) {
			*w = i;
			return 0;
		}
	}
	*w = W_GPA;
	return kstrtoull(s, 0, gpa);
}

static int add_mark(u64 first, u64 last)
{
	if (hs.nr_marks == MAX_RANGES || last < first)
		return -EINVAL;
	hs.marks[hs.nr_marks].first = first;
	hs.marks[hs.nr_marks].last = last;
	hs.nr_marks++;
	return 0;
}

/* "A-B,A,vram": call @fn for each range. */
static int parse_ranges(const char *list, int (*fn)(u64 first, u64 last))
{
	char *copy = kstrdup(list, GFP_KERNEL), *s = copy, *tok;
	int ret = 0;

	if (!copy)
		return -ENOMEM;
	while (!ret && (tok = strsep(&s, ","))) {
		char *dash = strchr(tok, '-');
		u64 first, last;

		if (!*tok)
			continue;
		if (sysfs_streq(tok, "vram")) {
			if (!hs.vram_len) {
				pr_err("free=vram: no VGA found\n");
				ret = -ENODEV;
				break;
			}
			ret = fn(PHYS_PFN(hs.vram_start),
				 PHYS_PFN(hs.vram_start + hs.vram_len - 1));
			continue;
		}
		if (dash)
			*dash = '\0';
		ret = kstrtoull(tok, 0, &first);
		last = first;
		if (!ret && dash)
			ret = kstrtoull(dash + 1, 0, &last);
		if (!ret)
			ret = fn(first, last);
	}
	kfree(copy);
	return ret;
}

#define WORDS_PER_PAGE	(PAGE_SIZE / sizeof(u64))

static void fill_owned(unsigned int n)
{
	u64 *p = hs.owned + n * WORDS_PER_PAGE, pfn = hs.own_first + n;
	unsigned int i;

	for (i = 0; i < WORDS_PER_PAGE; i++)
		p[i] = PATTERN ^ (pfn << 16) ^ i;
}

/* Owned page @n: 1 intact, 0 all zero (dropped), -1 anything else. */
static int owned_state(unsigned int n)
{
	u64 *p = hs.owned + n * WORDS_PER_PAGE, pfn = hs.own_first + n;
	bool intact = true;
	unsigned int i;
	u64 any = 0;

	for (i = 0; i < WORDS_PER_PAGE; i++) {
		any |= p[i];
		intact &= p[i] == (PATTERN ^ (pfn << 16) ^ i);
	}
	return intact ? 1 : any ? -1 : 0;
}

static u64 own_first, own_last;

static int own_range(u64 first, u64 last)
{
	own_first = min(own_first, first);
	own_last = max(own_last, last);
	return 0;
}

/*
 * Map the owned pfns, which must be RAM the kernel does not use (memmap=
 * reserved it), fill them and mark them.
 */
static int map_owned(void)
{
	u64 start, size;
	unsigned int i;
	int ret;

	own_first = U64_MAX;
	own_last = 0;
	ret = parse_ranges(own, own_range);
	if (ret || own_first > own_last)
		return ret;
	start = PFN_PHYS(own_first);
	size = PFN_PHYS(own_last - own_first + 1);
	if (region_intersects(start, size, IORESOURCE_SYSTEM_RAM,
			      IORES_DESC_NONE) != REGION_DISJOINT) {
		pr_err("own=%s: the kernel uses that memory (no memmap=?)\n",
		       own);
		return -EINVAL;
	}
	hs.owned = memremap(start, size, MEMREMAP_WB);
	if (!hs.owned)
		return -ENOMEM;
	hs.own_first = own_first;
	hs.nr_owned = own_last - own_first + 1;
	for (i = 0; i < hs.nr_owned; i++)
		fill_owned(i);
	return 0;
}

static void find_vga(void)
{
	struct pci_dev *dev = NULL;

	while ((dev = pci_get_class(PCI_CLASS_DISPLAY_VGA << 8, dev))) {
		if (pci_resource_len(dev, 0) && (pci_resource_flags(dev, 0) &
						 IORESOURCE_MEM)) {
			hs.vram_start = pci_resource_start(dev, 0);
			hs.vram_len = pci_resource_len(dev, 0);
			pci_dev_put(dev);
			return;
		}
	}
}

static void fill_vram(void)
{
	u64 __iomem *p = ioremap_wc(hs.vram_start, hs.vram_len);
	u64 i;

	if (!p)
		return;
	for (i = 0; i < hs.vram_len / sizeof(u64); i++)
		writeq(PATTERN ^ i, p + i);
	iounmap(p);
}

/* The chipset's PAM registers: q35's MCH at 0x90, i440FX at 0x59. */
static void pam_open(void)
{
	struct pci_dev *d = pci_get_domain_bus_and_slot(0, 0, PCI_DEVFN(0, 0));
	int i;

	if (!d)
		return;
	hs.pam_base = d->device == 0x29c0 ? 0x90 :
		      d->device == 0x1237 ? 0x59 : 0;
	if (!hs.pam_base) {
		pci_dev_put(d);
		return;
	}
	hs.host_bridge = d;
	for (i = 0; i < ARRAY_SIZE(hs.pam_saved); i++) {
		pci_read_config_byte(d, hs.pam_base + i, &hs.pam_saved[i]);
		pci_write_config_byte(d, hs.pam_base + i, 0x33);
	}
}

static void pam_close(void)
{
	int i;

	if (!hs.host_bridge)
		return;
	for (i = 0; i < ARRAY_SIZE(hs.pam_saved); i++)
		pci_write_config_byte(hs.host_bridge, hs.pam_base + i,
				      hs.pam_saved[i]);
	pci_dev_put(hs.host_bridge);
	hs.host_bridge = NULL;
}

/*
 * Place @size bytes at @w (not W_RAM) and map them: below 1 MiB through
 * the direct map, which covers the legacy area; VRAM write-combined.
 */
static int place_map(struct place *pl, enum where w, u64 gpa, size_t size,
		     unsigned long rom, unsigned long vram)
{
	pl->where = w;
	switch (w) {
	case W_ROM:
		pl->gpa = rom;
		break;
	case W_VRAM:
		if (!hs.vram_len)
			return -ENODEV;
		pl->gpa = hs.vram_start + vram;
		break;
	case W_ZERO:
		if (hs.page0_saved)
			return -EBUSY;
		hs.page0_saved = kmalloc(PAGE_SIZE, GFP_KERNEL);
		if (!hs.page0_saved)
			return -ENOMEM;
		memcpy(hs.page0_saved, phys_to_virt(0), PAGE_SIZE);
		pl->gpa = 0;
		break;
	case W_BEYOND:
		pl->gpa = beyond_ram();
		return 0;		/* nothing there to write */
	default:
		pl->gpa = gpa;
		break;
	}
	if (pl->gpa + size <= SZ_1M) {
		pl->va = phys_to_virt(pl->gpa);
	} else {
		pl->va = memremap(pl->gpa, size,
				  w == W_VRAM ? MEMREMAP_WC : MEMREMAP_WB);
		pl->mapped = true;
	}
	if (!pl->va)
		return -ENOMEM;
	memset(pl->va, 0, size);
	return 0;
}

static void place_unmap(struct place *pl)
{
	if (pl->mapped && pl->va)
		memunmap(pl->va);
	pl->va = NULL;
}

static void set_bits(u8 *bits, u64 first, u64 last)
{
	for (; first <= last; first++)
		bits[first / 8] |= 1 << (first % 8);
}

/*
 * Write chunk @i's bits at @bits: the marked and the owned pfns, or only
 * the first half of the owned pfns if @half.
 */
static void fill_bits(u8 *bits, unsigned int i, bool half)
{
	u64 base = (u64)i << CHUNK_SHIFT, end = base + (1ULL << CHUNK_SHIFT);
	unsigned int j;

	memset(bits, 0, BM_BYTES);
	for (j = 0; j < hs.nr_marks; j++) {
		u64 first = max(hs.marks[j].first, base);
		u64 last = min(hs.marks[j].last, end - 1);

		if (first <= last)
			set_bits(bits, first - base, last - base);
	}
	if (hs.nr_owned) {
		u64 first = max(hs.own_first, base);
		u64 n = half ? hs.nr_owned / 2 : hs.nr_owned;
		u64 last = min(hs.own_first + n - 1, end - 1);

		if (n && first <= last)
			set_bits(bits, first - base, last - base);
	}
}

static void fill_bitmap(u8 *bits, unsigned int i)
{
	fill_bits(bits, i, false);
}

/* Bits set in the whole table, for nr_free. */
static u64 count_marks(void)
{
	u64 n = hs.nr_owned;
	unsigned int j;

	for (j = 0; j < hs.nr_marks; j++)
		n += hs.marks[j].last - hs.marks[j].first + 1;
	return n;
}

/* Wait until the flipper is seen at work, so that it works during a call. */
static void flipper_runs(void)
{
	u64 f = READ_ONCE(hs.flips);

	while (READ_ONCE(hs.flips) - f < 1000)
		cpu_relax();
}

/*
 * seq_attack=flip: SNAPSHOT_DONE with the seq there now, which the
 * flipper moves on at once.  A snapshot applied although seq moved during
 * the call counts in moved_applied; calls during which the flipper did not
 * run (its vCPU is a host thread) count in held.
 */
static long call_flipping(u64 request)
{
	u64 seq, now;
	long ret;

	flipper_runs();
	now = READ_ONCE(hs.h->seq);
	seq = now & ~1ULL;
	ret = fpb_call(KVM_FPB_OP_SNAPSHOT_DONE, request, seq);
	if (READ_ONCE(hs.h->seq) == now)
		hs.held++;
	else if (ret == 0)
		hs.moved_applied++;
	return ret;
}

/*
 * Publish a snapshot answering @request, as the ABI's protocol says (but
 * with only the first half of the owned pages if @half, and with seq left
 * odd for seq_attack=odd), and tell the host: its answer.
 */
static long publish(u64 request, bool half)
{
	struct kvm_fpb_header *h = hs.h;
	unsigned int i;
	u64 seq = READ_ONCE(h->seq);

	WRITE_ONCE(h->seq, seq + ((seq & 1) ? 2 : 1));
	/* The host must see seq odd before any of the writes below. */
	smp_wmb();
	for (i = 0; i < hs.nr_chunks; i++) {
		fill_bits(hs.bitmaps[i], i, half);
		WRITE_ONCE(h->chunk[i], chunk_entry(i));
	}
	WRITE_ONCE(h->nr_free, count_marks());
	WRITE_ONCE(h->snapshot_request, request);
	/* Everything above must be visible before seq turns even. */
	smp_wmb();
	seq = READ_ONCE(h->seq) + 1;
	if (sysfs_streq(seq_attack, "odd"))
		return fpb_call(KVM_FPB_OP_SNAPSHOT_DONE, request, seq - 1);
	if (sysfs_streq(seq_attack, "claim"))
		return fpb_call(KVM_FPB_OP_SNAPSHOT_DONE, request, seq);
	WRITE_ONCE(h->seq, seq);
	if (sysfs_streq(seq_attack, "flip"))
		return call_flipping(request);
	if (*chunk_flip)
		flipper_runs();
	return fpb_call(KVM_FPB_OP_SNAPSHOT_DONE, request, seq);
}

/* bogus: a well formed snapshot answering @request, which is not asked. */
static void answer_bogus(u64 request, bool old)
{
	long ret = publish(request, false);

	hs.bogus_calls++;
	/* Nothing outstanding to answer: the ABI says KVM_FPB_DISCARDED. */
	if (ret != KVM_FPB_DISCARDED)
		hs.bogus_bad++;
	if (old && hs.nr_old < MAX_OLD) {
		hs.old_req[hs.nr_old] = request;
		hs.old_ret[hs.nr_old++] = ret;
	}
}

/* One answer to @request, and the storm or the lies around it. */
static void answer(u64 request)
{
	long ret;
	u64 seq;

	if (bogus) {
		if (hs.answered)
			answer_bogus(hs.answered, true);
		answer_bogus(request + BOGUS_AHEAD, false);
	}
	ret = publish(request, bogus);
	if (bogus)
		answer_bogus(request, false);
	seq = READ_ONCE(hs.h->seq);

	hs.answered = request;
	hs.answers++;
	hs.last_ret = ret;
	if (ret == 0)
		hs.applied++;
	else if (ret == KVM_FPB_DISCARDED)
		hs.discarded++;
	else
		hs.refused++;
	if (storm_ms && !storm_all && !hs.stormed) {
		unsigned long end = jiffies + msecs_to_jiffies(storm_ms);

		hs.stormed = true;
		while (time_before(jiffies, end)) {
			fpb_call(KVM_FPB_OP_SNAPSHOT_DONE, request, seq);
			if (!(++hs.storm_calls & 1023))
				cond_resched();
		}
	}
}

/* Sleep until kthread_stop(), for threads done with their work. */
static int park(void)
{
	while (!kthread_should_stop())
		msleep(20);
	return 0;
}

/*
 * storm_all: REGISTER the header again and answer whatever request is
 * there, without pause, on the CPU this thread is bound to.
 */
static int storm_fn(void *unused)
{
	unsigned long end = jiffies + msecs_to_jiffies(storm_ms);
	struct kvm_fpb_header *h = hs.h;
	unsigned long n = 0;
	long ret;

	while (!kthread_should_stop() && time_before(jiffies, end)) {
		ret = fpb_call(KVM_FPB_OP_REGISTER, hs.hdr.gpa + hdr_off,
			       hs.region_bytes);
		atomic64_inc(ret ? &hs.storm_other : &hs.storm_register);
		fpb_call(KVM_FPB_OP_SNAPSHOT_DONE, READ_ONCE(h->request),
			 READ_ONCE(h->seq));
		atomic64_inc(&hs.storm_done);
		if (!(++n & 255))
			cond_resched();
	}
	return park();
}

/*
 * seq_attack=flip: move seq on all the time, so that it never holds
 * between two reads of the host.  chunk_flip: alternate chunk bm_chunk's
 * entry between its bitmap and hs.flip_alt.
 */
static int flip_fn(void *unused)
{
	struct kvm_fpb_header *h = hs.h;
	u64 own = virt_to_phys(hs.bitmaps[bm_chunk]) | KVM_FPB_CHUNK_PRESENT;

	while (!kthread_should_stop()) {
		if (hs.flip_alt) {
			WRITE_ONCE(h->chunk[bm_chunk],
				   (hs.flips & 1) ? hs.flip_alt : own);
		} else {
			WRITE_ONCE(h->seq, READ_ONCE(h->seq) + 2);
		}
		WRITE_ONCE(hs.flips, hs.flips + 1);
		if (!(hs.flips & 4095))
			cond_resched();
	}
	return 0;
}

/* A kthread bound to @cpu, started. */
static struct task_struct *run_on(int (*fn)(void *), unsigned int cpu,
				  const char *name)
{
	struct task_struct *t = kthread_create(fn, NULL, "%s/%u", name, cpu);

	if (IS_ERR(t))
		return t;
	kthread_bind(t, cpu);
	wake_up_process(t);
	return t;
}

static int start_storm(void)
{
	unsigned int cpu;

	hs.stormers = kcalloc(nr_cpu_ids, sizeof(*hs.stormers), GFP_KERNEL);
	if (!hs.stormers)
		return -ENOMEM;
	for_each_online_cpu(cpu) {
		struct task_struct *t = run_on(storm_fn, cpu, "fpb_storm");

		if (IS_ERR(t))
			return PTR_ERR(t);
		hs.stormers[cpu] = t;
	}
	return 0;
}

/* The flipper runs on the last online CPU, the poller on the first. */
static int start_flipper(void)
{
	unsigned int cpu = cpumask_last(cpu_online_mask);
	struct task_struct *t;
	enum where w;
	u64 gpa = 0;

	if (num_online_cpus() < 2) {
		pr_err("seq_attack=flip and chunk_flip need two CPUs\n");
		return -EINVAL;
	}
	if (*chunk_flip) {
		if (bm_chunk >= hs.nr_chunks || parse_where(chunk_flip, &w, &gpa))
			return -EINVAL;
		switch (w) {
		case W_RAM:
			hs.half = (void *)__get_free_pages(GFP_KERNEL,
							   get_order(BM_BYTES));
			if (!hs.half)
				return -ENOMEM;
			fill_bits(hs.half, bm_chunk, true);
			gpa = virt_to_phys(hs.half);
			break;
		case W_VRAM:
			if (!hs.vram_len)
				return -ENODEV;
			gpa = hs.vram_start;
			break;
		case W_BEYOND:
			gpa = beyond_ram();
			break;
		default:
			break;
		}
		hs.flip_alt = gpa | KVM_FPB_CHUNK_PRESENT;
	}
	t = run_on(flip_fn, cpu, "fpb_flip");
	if (IS_ERR(t))
		return PTR_ERR(t);
	hs.flipper = t;
	return 0;
}

/*
 * free_hdr: free the header page without UNREGISTER, as a buggy guest
 * would, and allocate it again: fill it with a pattern and watch what the
 * host writes there.
 */
static void reuse_header(void)
{
	struct page *p;
	unsigned int i;

	preempt_disable();
	free_page((unsigned long)hs.h);
	/* The page went to this CPU's free list, so it comes back first. */
	p = alloc_page(GFP_ATOMIC);
	preempt_enable();
	hs.h = NULL;
	if (!p)
		return;
	if (page_to_phys(p) != hs.hdr.gpa) {
		__free_page(p);
		return;
	}
	hs.reused = page_address(p);
	hs.reused_gpa = page_to_phys(p);
	for (i = 0; i < WORDS_PER_PAGE; i++)
		hs.reused[i] = PATTERN ^ i;
}

static unsigned int reused_diff(void)
{
	unsigned int i, n = 0;

	for (i = 0; hs.reused && i < WORDS_PER_PAGE; i++)
		n += hs.reused[i] != (PATTERN ^ i);
	return n;
}

static int poll_fn(void *unused)
{
	while (!kthread_should_stop()) {
		u64 request = READ_ONCE(hs.h->request);

		if (request && request != hs.answered) {
			/* The snapshot's loads follow the request's. */
			smp_rmb();
			answer(request);
		}
		msleep(poll_ms);
	}
	return 0;
}

static int status_show(struct seq_file *m, void *v)
{
	unsigned int i, zero = 0, intact = 0;

	for (i = 0; i < hs.nr_owned; i++) {
		int st = owned_state(i);

		zero += st == 0;
		intact += st == 1;
	}
	seq_printf(m, "register %ld\n", hs.register_ret);
	seq_printf(m, "hdr %s 0x%llx\n", where_name[hs.hdr.where], hs.hdr.gpa);
	if (hs.has_bad)
		seq_printf(m, "bm %s 0x%llx\n", where_name[hs.bad.where],
			   hs.bad.gpa);
	seq_printf(m, "nr_chunks %u\n", hs.nr_chunks);
	seq_printf(m, "vram 0x%llx 0x%llx\n", hs.vram_start, hs.vram_len);
	seq_printf(m, "answers %llu\n", hs.answers);
	seq_printf(m, "applied %llu\n", hs.applied);
	seq_printf(m, "discarded %llu\n", hs.discarded);
	seq_printf(m, "refused %llu\n", hs.refused);
	seq_printf(m, "last_ret %ld\n", hs.last_ret);
	seq_printf(m, "storm_calls %llu\n", hs.storm_calls);
	seq_printf(m, "owned %u\n", hs.nr_owned);
	seq_printf(m, "owned_zero %u\n", zero);
	seq_printf(m, "owned_intact %u\n", intact);
	for (i = 0, zero = 0, intact = 0; i < hs.nr_owned / 2; i++) {
		int st = owned_state(hs.nr_owned - 1 - i);

		zero += st == 0;
		intact += st == 1;
	}
	seq_printf(m, "upper_zero %u\n", zero);
	seq_printf(m, "upper_intact %u\n", intact);
	seq_printf(m, "storm_register %lld\n",
		   atomic64_read(&hs.storm_register));
	seq_printf(m, "storm_done %lld\n", atomic64_read(&hs.storm_done));
	seq_printf(m, "storm_other %lld\n", atomic64_read(&hs.storm_other));
	seq_printf(m, "flips %llu\n", hs.flips);
	seq_printf(m, "held %llu\n", hs.held);
	seq_printf(m, "moved_applied %llu\n", hs.moved_applied);
	seq_printf(m, "answered %llu\n", hs.answered);
	seq_printf(m, "bogus_calls %llu\n", hs.bogus_calls);
	seq_printf(m, "bogus_bad %llu\n", hs.bogus_bad);
	seq_puts(m, "old_req");
	for (i = 0; i < hs.nr_old; i++)
		seq_printf(m, " %llu", hs.old_req[i]);
	seq_puts(m, "\nold_ret");
	for (i = 0; i < hs.nr_old; i++)
		seq_printf(m, " %ld", hs.old_ret[i]);
	seq_printf(m, "\nreused 0x%llx\n", hs.reused_gpa);
	seq_printf(m, "reused_diff %u\n", reused_diff());
	if (hs.reused)
		seq_printf(m, "reused_request %llu\n",
			   hs.reused[offsetof(struct kvm_fpb_header, request) /
				     sizeof(u64)]);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(status);

static void release(void)
{
	unsigned int i;

	for (i = 0; hs.stormers && i < nr_cpu_ids; i++)
		if (hs.stormers[i])
			kthread_stop(hs.stormers[i]);
	kfree(hs.stormers);
	/* The poller first: it may wait for the flipper (flipper_runs()). */
	if (hs.poller)
		kthread_stop(hs.poller);
	if (hs.flipper)
		kthread_stop(hs.flipper);
	if (hs.register_ret == 0)
		fpb_call(KVM_FPB_OP_UNREGISTER, 0, 0);
	for (i = 0; hs.bitmaps && i < hs.nr_chunks; i++)
		free_page((unsigned long)hs.bitmaps[i]);
	kfree(hs.bitmaps);
	if (hs.half)
		free_pages((unsigned long)hs.half, get_order(BM_BYTES));
	if (hs.reused)
		free_page((unsigned long)hs.reused);
	place_unmap(&hs.bad);
	if (hs.hdr.where == W_RAM && hs.h)
		free_pages((unsigned long)hs.h, get_order(hs.alloc_bytes));
	else
		place_unmap(&hs.hdr);
	if (hs.page0_saved) {
		memcpy(phys_to_virt(0), hs.page0_saved, PAGE_SIZE);
		kfree(hs.page0_saved);
	}
	pam_close();
	if (hs.owned)
		memunmap(hs.owned);
}

static int setup_bitmaps(void)
{
	enum where w;
	unsigned int i;
	u64 gpa;
	int ret;

	hs.bitmaps = kcalloc(hs.nr_chunks, sizeof(*hs.bitmaps), GFP_KERNEL);
	if (!hs.bitmaps)
		return -ENOMEM;
	for (i = 0; i < hs.nr_chunks; i++) {
		hs.bitmaps[i] = (void *)__get_free_pages(GFP_KERNEL,
							 get_order(BM_BYTES));
		if (!hs.bitmaps[i])
			return -ENOMEM;
	}
	ret = parse_where(bm, &w, &gpa);
	if (ret || w == W_RAM)
		return ret;
	if (bm_chunk >= hs.nr_chunks)
		return -EINVAL;
	hs.has_bad = true;
	ret = place_map(&hs.bad, w, gpa, BM_BYTES, ROM_BM, VRAM_BM);
	/* Filled once: a read-only ROM shadow would not take later writes. */
	if (!ret && hs.bad.va)
		fill_bitmap(hs.bad.va, bm_chunk);
	return ret;
}

static int __init hostile_init(void)
{
	struct kvm_fpb_header *h;
	u64 gpa;
	int ret;

	if (!kvm_para_available())
		return -ENODEV;
	/* Outside the ABI's range too, but with bitmaps this module can allocate. */
	if (chunk_shift < PAGE_SHIFT + 3 - 1 || chunk_shift > 25)
		return -EINVAL;
	find_vga();
	if (pam_rw)
		pam_open();
	if (vram_fill && hs.vram_len)
		fill_vram();
	ret = parse_ranges(free, add_mark);
	if (!ret)
		ret = map_owned();
	if (ret)
		goto fail;

	hs.nr_chunks = nr_chunks ? nr_chunks :
		       DIV_ROUND_UP(PHYS_PFN(ram_end()), 1UL << CHUNK_SHIFT);
	hs.alloc_bytes = PAGE_ALIGN(sizeof(*h) + hs.nr_chunks * sizeof(u64));
	hs.region_bytes = region ? region : hs.alloc_bytes;
	/* A region the host may read, unless it must refuse it for its size. */
	if (region <= KVM_FPB_REGION_MAX)
		hs.alloc_bytes = max(hs.alloc_bytes, PAGE_ALIGN(region));
	ret = parse_where(hdr, &hs.hdr.where, &gpa);
	if (ret)
		goto fail;
	if (hs.hdr.where == W_RAM) {
		hs.h = (void *)__get_free_pages(GFP_KERNEL | __GFP_ZERO,
						get_order(hs.alloc_bytes));
		hs.hdr.gpa = hs.h ? virt_to_phys(hs.h) : 0;
		ret = hs.h ? 0 : -ENOMEM;
	} else {
		ret = place_map(&hs.hdr, hs.hdr.where, gpa, hs.alloc_bytes,
				ROM_HDR, VRAM_HDR);
		hs.h = hs.hdr.va;
	}
	if (!ret)
		ret = setup_bitmaps();
	if (ret)
		goto fail;

	h = hs.h;
	if (h) {
		h->magic = KVM_FPB_MAGIC;
		h->version = KVM_FPB_VERSION;
		h->header_size = sizeof(*h);
		h->chunk_shift = CHUNK_SHIFT;
		h->nr_chunks = hs.nr_chunks;
	}
	hs.register_ret = fpb_call(KVM_FPB_OP_REGISTER, hs.hdr.gpa + hdr_off,
				   hs.region_bytes);
	pr_info("register %s 0x%llx, %u chunks: %ld\n",
		where_name[hs.hdr.where], hs.hdr.gpa + hdr_off, hs.nr_chunks,
		hs.register_ret);
	if (hs.register_ret == 0 && free_hdr && hs.hdr.where == W_RAM &&
	    hs.alloc_bytes == PAGE_SIZE)
		reuse_header();
	if (hs.register_ret == 0 && hs.h) {
		if (sysfs_streq(seq_attack, "flip") || *chunk_flip)
			ret = start_flipper();
		if (!ret && storm_all && storm_ms)
			ret = start_storm();
		if (ret)
			goto fail;
		hs.poller = kthread_create(poll_fn, NULL, "fpb_hostile");
		if (IS_ERR(hs.poller)) {
			ret = PTR_ERR(hs.poller);
			hs.poller = NULL;
			goto fail;
		}
		/* Apart from the flipper, which must run while it answers. */
		if (hs.flipper)
			kthread_bind(hs.poller, cpumask_first(cpu_online_mask));
		wake_up_process(hs.poller);
	}
	hs.dbg = debugfs_create_dir("fpb_hostile", NULL);
	debugfs_create_file("status", 0444, hs.dbg, NULL, &status_fops);
	return 0;

fail:
	pr_err("setup failed: %d\n", ret);
	release();
	return ret ? ret : -EINVAL;
}

static void __exit hostile_exit(void)
{
	debugfs_remove_recursive(hs.dbg);
	release();
}

module_init(hostile_init);
module_exit(hostile_exit);
MODULE_DESCRIPTION("FPB test: a guest that lies to the host (never install)");
MODULE_LICENSE("GPL");
