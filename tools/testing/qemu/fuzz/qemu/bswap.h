/* The standalone build only runs on little-endian hosts. */
#ifndef FPB_FUZZ_BSWAP_H
#define FPB_FUZZ_BSWAP_H
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "standalone fpb-validate build assumes a little-endian host"
#endif
#define le16_to_cpu(x) (x)
#define le32_to_cpu(x) (x)
#define le64_to_cpu(x) (x)
#endif
