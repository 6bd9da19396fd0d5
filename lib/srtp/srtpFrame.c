// One viewer's SRTP AEAD_AES_128_GCM packets for one whole frame, in one call
// from JS (compiled at start-up by Bun's built-in TinyCC, lib/srtp/srtpFrameSealer.ts).
// The AES work is the system OpenSSL's: its EVP functions are handed in as
// pointers (wisp_bind_evp), so this file needs no headers and no linking.
// Per packet: RFC 3550 5.1 fixed header, RFC 7714 8.1 IV, AAD = the header
// (RFC 7714 7.1), then ciphertext and 16-byte tag. Same bytes as
// SrtpEncryptor.encryptInto (tests/srtp/srtpFrameSealer.test.ts checks).

typedef unsigned char u8;
typedef unsigned int u32;
typedef unsigned long long u64;

typedef int (*evp_init_fn)(void *ctx, const void *cipher, void *engine, const u8 *key, const u8 *iv);
typedef int (*evp_update_fn)(void *ctx, u8 *out, int *outl, const u8 *in, int inl);
typedef int (*evp_final_fn)(void *ctx, u8 *out, int *outl);
typedef int (*evp_ctrl_fn)(void *ctx, int type, int arg, void *ptr);

static evp_init_fn evp_init;
static evp_update_fn evp_update;
static evp_final_fn evp_final;
static evp_ctrl_fn evp_ctrl;

#define EVP_CTRL_GCM_GET_TAG 0x10
#define RTP_HEADER 12
#define GCM_TAG 16

int wisp_bind_evp(void *init, void *update, void *final, void *ctrl) {
  evp_init = (evp_init_fn)init;
  evp_update = (evp_update_fn)update;
  evp_final = (evp_final_fn)final;
  evp_ctrl = (evp_ctrl_fn)ctrl;
  return 0;
}

static void put16(u8 *p, u32 v) { p[0] = v >> 8; p[1] = v; }
static void put32(u8 *p, u32 v) { p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v; }
static u32 word(const u8 *p) { return p[0] | p[1] << 8 | p[2] << 16 | (u32)p[3] << 24; }

// frame: u32 count, u32 reserved, then per packet 4 x u32 (little-endian):
// payload offset from frame, payload length, RTP timestamp, marker; payloads after.
// Returns the bytes written at out + at, or -1 if OpenSSL failed.
int wisp_srtp_gcm_seal_frame(void *ctx, const u8 *salt, const u8 *frame, u8 *out, int at,
                             int ssrcBits, int payloadType, double firstIndex, int timestampAddBits) {
  u32 ssrc = (u32)ssrcBits, timestampAdd = (u32)timestampAddBits; // passed as i32 (see the .ts)
  u32 count = word(frame);
  u64 index = (u64)firstIndex; // RFC 3711 3.3.1: ROC * 65536 + SEQ
  int start = at;
  u8 iv[12];
  int outl;
  for (u32 i = 0; i < count; i++, index++) {
    const u8 *record = frame + 8 + 16 * i;
    const u8 *payload = frame + word(record);
    int length = (int)word(record + 4);
    u8 *d = out + at;
    u32 sequence = (u32)(index & 0xffff);
    u32 rollover = (u32)(index >> 16);
    d[0] = 0x80;
    d[1] = (word(record + 12) ? 0x80 : 0) | (payloadType & 0x7f);
    put16(d + 2, sequence);
    put32(d + 4, word(record + 8) + timestampAdd);
    put32(d + 8, ssrc);
    iv[0] = 0;
    iv[1] = 0;
    put32(iv + 2, ssrc);
    put32(iv + 6, rollover);
    put16(iv + 10, sequence);
    for (int k = 0; k < 12; k++) iv[k] ^= salt[k];
    if (evp_init(ctx, 0, 0, 0, iv) != 1) return -1;
    if (evp_update(ctx, 0, &outl, d, RTP_HEADER) != 1) return -1;
    if (length > 0 && evp_update(ctx, d + RTP_HEADER, &outl, payload, length) != 1) return -1;
    if (evp_final(ctx, d + RTP_HEADER + length, &outl) != 1) return -1;
    if (evp_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, GCM_TAG, d + RTP_HEADER + length) != 1) return -1;
    at += RTP_HEADER + length + GCM_TAG;
  }
  return at - start;
}
