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
 *
 * WHERE is ram (the default), rom (the ROM shadow), vram (the VGA BAR),
 * zero (GPA 0), beyond (the first GPA above RAM) or a GPA.  Like the real
 * module it polls the header for requests and answers each one.
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

static unsigned int poll_ms = 10;
module_param(poll_ms, uint, 0444);
MODULE_PARM_DESC(poll_ms, "How often to look for a request, ms");

#define CHUNK_SHIFT	KVM_FPB_CHUNK_SHIFT_MIN
#define BM_BYTES	(1UL << (CHUNK_SHIFT - 3))
#define MAX_RANGES	16
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
	unsigned long region_bytes;
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

/* One past the highest System RAM address: where "beyond" is. */
static u64 ram_end(void)
{
	u64 end = 0;

	walk_iomem_res_desc(IORES_DESC_NONE,
			    IORESOURCE_SYSTEM_RAM | IORESOURCE_BUSY, 0, -1,
			    &end, ram_end_fn);
	return end;
}

static u64 chunk_entry(unsigned int i)
{
	if (i == bm_chunk && hs.has_bad)
		return hs.bad.gpa | KVM_FPB_CHUNK_PRESENT;
	return virt_to_phys(hs.bitmaps[i]) | KVM_FPB_CHUNK_PRESENT;
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
		pl->gpa = PAGE_ALIGN(ram_end());
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

/* Write chunk @i's bits at @bits: the marked and the owned pfns. */
static void fill_bitmap(u8 *bits, unsigned int i)
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
		u64 last = min(hs.own_first + hs.nr_owned - 1, end - 1);

		if (first <= last)
			set_bits(bits, first - base, last - base);
	}
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

/* One snapshot answering @request, as the ABI's protocol says. */
static void answer(u64 request)
{
	struct kvm_fpb_header *h = hs.h;
	unsigned int i;
	u64 seq = READ_ONCE(h->seq);
	long ret;

	WRITE_ONCE(h->seq, seq + ((seq & 1) ? 2 : 1));
	/* The host must see seq odd before any of the writes below. */
	smp_wmb();
	for (i = 0; i < hs.nr_chunks; i++) {
		fill_bitmap(hs.bitmaps[i], i);
		WRITE_ONCE(h->chunk[i], chunk_entry(i));
	}
	WRITE_ONCE(h->nr_free, count_marks());
	WRITE_ONCE(h->snapshot_request, request);
	/* Everything above must be visible before seq turns even. */
	smp_wmb();
	seq = READ_ONCE(h->seq) + 1;
	WRITE_ONCE(h->seq, seq);
	ret = fpb_call(KVM_FPB_OP_SNAPSHOT_DONE, request, seq);

	hs.answered = request;
	hs.answers++;
	hs.last_ret = ret;
	if (ret == 0)
		hs.applied++;
	else if (ret == KVM_FPB_DISCARDED)
		hs.discarded++;
	else
		hs.refused++;
	if (storm_ms && !hs.stormed) {
		unsigned long end = jiffies + msecs_to_jiffies(storm_ms);

		hs.stormed = true;
		while (time_before(jiffies, end)) {
			fpb_call(KVM_FPB_OP_SNAPSHOT_DONE, request, seq);
			if (!(++hs.storm_calls & 1023))
				cond_resched();
		}
	}
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
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(status);

static void release(void)
{
	unsigned int i;

	if (hs.poller)
		kthread_stop(hs.poller);
	if (hs.register_ret == 0)
		fpb_call(KVM_FPB_OP_UNREGISTER, 0, 0);
	for (i = 0; hs.bitmaps && i < hs.nr_chunks; i++)
		free_page((unsigned long)hs.bitmaps[i]);
	kfree(hs.bitmaps);
	place_unmap(&hs.bad);
	if (hs.hdr.where == W_RAM && hs.h)
		free_pages((unsigned long)hs.h, get_order(hs.region_bytes));
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
	hs.region_bytes = PAGE_ALIGN(sizeof(*h) + hs.nr_chunks * sizeof(u64));
	ret = parse_where(hdr, &hs.hdr.where, &gpa);
	if (ret)
		goto fail;
	if (hs.hdr.where == W_RAM) {
		hs.h = (void *)__get_free_pages(GFP_KERNEL | __GFP_ZERO,
						get_order(hs.region_bytes));
		hs.hdr.gpa = hs.h ? virt_to_phys(hs.h) : 0;
		ret = hs.h ? 0 : -ENOMEM;
	} else {
		ret = place_map(&hs.hdr, hs.hdr.where, gpa, hs.region_bytes,
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
	hs.register_ret = fpb_call(KVM_FPB_OP_REGISTER, hs.hdr.gpa,
				   hs.region_bytes);
	pr_info("register %s 0x%llx, %u chunks: %ld\n",
		where_name[hs.hdr.where], hs.hdr.gpa, hs.nr_chunks,
		hs.register_ret);
	if (hs.register_ret == 0 && h) {
		hs.poller = kthread_run(poll_fn, NULL, "fpb_hostile");
		if (IS_ERR(hs.poller)) {
			ret = PTR_ERR(hs.poller);
			hs.poller = NULL;
			goto fail;
		}
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
