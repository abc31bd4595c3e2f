/* SPDX-License-Identifier: MIT */
/*
 * Strict, incremental, zero-copy HTTP/1.1 message parser for lbd's L7 proxy.
 *
 * Heads: the caller keeps the bytes of one message head in a buffer that
 * starts at the message's first byte and grows as data arrives; it calls
 * h1_parse() after every read. The parser remembers how far it scanned, so
 * the total work is linear in the head size however the bytes trickle in.
 * When the head is complete, every field of struct h1_msg points into the
 * caller's buffer (nothing is copied, nothing is allocated): the buffer must
 * stay put while those pointers are used.
 *
 * Bodies: Content-Length bodies are counted by the caller; chunked bodies go
 * through struct h1_chunk, a byte-at-a-time state machine that validates the
 * framing and says how many payload bytes passed, so the proxy can forward
 * the raw chunked bytes unchanged without ever buffering a body.
 *
 * What is accepted and rejected, with which status, is in doc/http.md.
 */
#ifndef XLB_HTTP1_H
#define XLB_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

/* Largest head accepted, start line and final empty line included (HAProxy's tune.bufsize). */
#define H1_DEFAULT_BUFSIZE 16384
/* Most header lines accepted in one head (HAProxy's tune.http.maxhdr). */
#define H1_DEFAULT_MAXHDR 101
/* Longest chunk-size line (size, extensions, CRLF) the chunk decoder accepts. */
#define H1_CHUNK_LINE_MAX 4096
/* Largest trailer section (all trailer lines and the final CRLF). */
#define H1_TRAILERS_MAX 16384
/* Most trailer lines accepted after the last chunk. */
#define H1_TRAILERS_MAXHDR 101

/* Return values of h1_parse(); a complete head returns its length (> 0). */
#define H1_NEED_MORE 0 /* the head is not complete yet: read more and call again */
#define H1_ERROR (-1) /* invalid: answer msg->err_status, then close */

/* Methods the proxy treats specially or logs by name; anything else is H1_M_OTHER. */
enum h1_method {
	H1_M_OTHER = 0, /* a valid token that is none of the below */
	H1_M_GET,
	H1_M_HEAD,
	H1_M_POST,
	H1_M_PUT,
	H1_M_DELETE,
	H1_M_CONNECT,
	H1_M_OPTIONS,
	H1_M_TRACE,
	H1_M_PATCH,
};

/* Shape of the request target (RFC 9112 section 3.2). */
enum h1_target_form {
	H1_TGT_ORIGIN = 0, /* "/path?query" */
	H1_TGT_ABSOLUTE, /* "http://authority/path?query" */
	H1_TGT_AUTHORITY, /* "host:port", CONNECT only */
	H1_TGT_ASTERISK, /* "*", OPTIONS only */
};

/* How the body of a message is delimited (RFC 9112 section 6.3). */
enum h1_body {
	H1_BODY_NONE = 0, /* no body: the next message starts right after the head */
	H1_BODY_CL, /* content_length bytes (possibly 0) */
	H1_BODY_CHUNKED, /* chunked: feed the bytes to struct h1_chunk */
	H1_BODY_CLOSE, /* responses only: everything until the server closes */
};

/* Message flags (struct h1_msg.flags). */
#define H1_F_KEEP_ALIVE 0x0001 /* the connection may carry another message after this one */
#define H1_F_UPGRADE 0x0002 /* "Connection: upgrade" and an Upgrade header (HTTP/1.1) */
#define H1_F_EXPECT_100 0x0004 /* "Expect: 100-continue" in an HTTP/1.1 request */
#define H1_F_CL_TE_CONFLICT 0x0008 /* both Content-Length and Transfer-Encoding: TE won */
#define H1_F_CONN_CLOSE 0x0010 /* a Connection header holds "close" */
#define H1_F_CONN_KA 0x0020 /* a Connection header holds "keep-alive" */
#define H1_F_CONN_UPGRADE 0x0040 /* a Connection header holds "upgrade" */
#define H1_F_HAS_CL 0x0080 /* at least one Content-Length header */
#define H1_F_HAS_TE 0x0100 /* at least one Transfer-Encoding header */
#define H1_F_HAS_HOST 0x0200 /* a Host header (msg->host may also come from the target) */
#define H1_F_BARE_LF 0x0400 /* some line ended in LF alone: rebuild the head, never relay it */
#define H1_F_TUNNEL 0x0800 /* response: 101 or 2xx to CONNECT, bytes after the head are a tunnel */
#define H1_F_CONN_NAMES 0x1000 /* a Connection header holds a token other than keep-alive/upgrade */

/* One header line; name and value point into the caller's buffer. */
struct h1_hdr {
	const char *name; /* as received (case kept) */
	const char *value; /* optional whitespace before and after removed */
	uint32_t name_len;
	uint32_t value_len;
};

/*
 * One message head being parsed. Fill it with h1_msg_init_req() or
 * h1_msg_init_resp(); fields below "result" are valid once h1_parse()
 * returned the head length.
 */
struct h1_msg {
	/* settings */
	struct h1_hdr *hdrs; /* caller's array of maxhdr entries */
	uint32_t maxhdr; /* more header lines than this: error */
	size_t bufsize; /* longer heads: error */
	bool response; /* parse a status line instead of a request line */
	enum h1_method req_method; /* responses: method of the request they answer */

	/* scan state, private: where the head end search stopped */
	size_t scan_pos; /* next byte to look at */
	size_t skip; /* bytes of empty lines before the request line */
	uint8_t scan_flags; /* private */
	int state; /* private: 0 scanning, 1 done, -1 failed */

	/* result: start line */
	size_t head_len; /* bytes from the buffer start to the end of the empty line */
	unsigned int version; /* 10 or 11 */
	enum h1_method method;
	const char *method_str; /* the method token as received */
	size_t method_len;
	const char *target; /* request target as received */
	size_t target_len;
	enum h1_target_form target_form;
	const char *authority; /* absolute- and authority-form: "host[:port]" in the target */
	size_t authority_len;
	const char *path; /* origin- and absolute-form: path and query ("" if absent) */
	size_t path_len;
	unsigned int status; /* responses: 100..599 */
	const char *reason; /* responses: reason phrase, may be empty */
	size_t reason_len;

	/* result: headers and what they mean */
	uint32_t nhdrs;
	uint32_t flags; /* H1_F_* */
	enum h1_body body;
	uint64_t content_length; /* H1_BODY_CL only */
	const char *host; /* Host header value, or the target's authority; NULL if none */
	size_t host_len;

	/* failure: what to answer and why */
	int err_status; /* 400, 422 (requests) or 502 (responses) */
	const char *err; /* static text for logs */
	size_t err_pos; /* offset of the offending byte or line */
};

/*
 * Prepare msg to parse a request head. hdrs holds maxhdr entries; maxhdr 0
 * means H1_DEFAULT_MAXHDR (hdrs must then hold that many), bufsize 0 means
 * H1_DEFAULT_BUFSIZE (values above INT32_MAX are capped).
 */
void h1_msg_init_req(struct h1_msg *msg, struct h1_hdr *hdrs, uint32_t maxhdr, size_t bufsize);

/*
 * Prepare msg to parse the response to a request made with req_method: the
 * answer to a HEAD has no body, a 2xx to a CONNECT starts a tunnel.
 */
void h1_msg_init_resp(struct h1_msg *msg, struct h1_hdr *hdrs, uint32_t maxhdr, size_t bufsize,
		      enum h1_method req_method);

/*
 * Parse the head at the start of buf (len bytes, the message's first byte
 * first). Returns the head length when the head is complete (the body or the
 * next message starts at buf + that length), H1_NEED_MORE when more bytes are
 * needed, or H1_ERROR with msg->err_status, msg->err and msg->err_pos set.
 * Call again with the same buffer, grown, after more bytes arrived; once
 * complete or failed, further calls return the same answer.
 */
int h1_parse(struct h1_msg *msg, const char *buf, size_t len);

/* The message has body bytes to relay (a non-empty CL body, chunked, or until close). */
static inline bool h1_has_body(const struct h1_msg *msg)
{
	return msg->body == H1_BODY_CHUNKED || msg->body == H1_BODY_CLOSE ||
	       (msg->body == H1_BODY_CL && msg->content_length > 0);
}

/* Canonical name of a method, or NULL for H1_M_OTHER. */
const char *h1_method_name(enum h1_method m);

/* Method of a token ("GET" -> H1_M_GET), H1_M_OTHER when not one of enum h1_method. */
enum h1_method h1_method_lookup(const char *s, size_t len);

/* --- header helpers --- */

/*
 * hdr's name equals name, ignoring case. Inline so that the length of a
 * constant name folds away on the per-header paths that call it.
 */
static inline bool h1_hdr_is(const struct h1_hdr *hdr, const char *name)
{
	size_t n = strlen(name);

	return hdr->name_len == n && strncasecmp(hdr->name, name, n) == 0;
}

/*
 * Next header named name (case-insensitive) after prev, or the first one when
 * prev is NULL. NULL when there is none.
 */
const struct h1_hdr *h1_find_hdr(const struct h1_msg *msg, const char *name,
				 const struct h1_hdr *prev);

/* Number of headers named name. */
unsigned int h1_hdr_count(const struct h1_msg *msg, const char *name);

/*
 * Walk a comma-separated list (RFC 9110 section 5.6.1): *p is the cursor,
 * end the end of the value. Stores the next non-empty element, trimmed of
 * whitespace, in *elem and *elem_len and returns true; false at the end. Commas
 * inside double-quoted strings do not split.
 */
bool h1_list_next(const char **p, const char *end, const char **elem, size_t *elem_len);

/* The comma list value[0..len) holds tok as a whole element, ignoring case. */
bool h1_value_has_token(const char *value, size_t len, const char *tok);

/* Cursor over the list elements of every header with one name, in order. */
struct h1_iter {
	const struct h1_hdr *hdr; /* header being walked, NULL before the first */
	const char *p; /* cursor inside hdr->value */
};

#define H1_ITER_INIT       \
	{                  \
		NULL, NULL \
	}

/*
 * Next list element of all headers named name (for instance every token of
 * every Connection header). Returns false at the end.
 */
bool h1_iter_next(const struct h1_msg *msg, const char *name, struct h1_iter *it, const char **elem,
		  size_t *elem_len);

/* Some header named name holds tok as a list element (case-insensitive). */
bool h1_msg_has_token(const struct h1_msg *msg, const char *name, const char *tok);

/* --- chunked bodies --- */

/* Decoder state for one chunked body; zero it with h1_chunk_init(). */
struct h1_chunk {
	uint8_t state; /* private */
	uint8_t ndigits; /* hex digits of the current chunk-size so far */
	uint32_t line_len; /* bytes of the current size or trailer line */
	uint64_t remain; /* payload bytes left in the current chunk (or its size while read) */
	uint64_t total; /* payload bytes seen so far */
	uint32_t trailers_len; /* bytes of the trailer section so far */
	uint32_t ntrailers; /* trailer lines so far */
	const char *err; /* static text for logs after an error */
};

void h1_chunk_init(struct h1_chunk *st);

/*
 * Feed len bytes of a chunked body. *consumed is set to the bytes used (all
 * of them unless the body ended inside buf, or on error: up to the bad byte);
 * *data_bytes to how many of those are chunk payload. Returns 0 when all of
 * buf was consumed and the body goes on, 1 when the last chunk, the trailers
 * and the final CRLF were consumed (bytes after *consumed belong to the next
 * message), -1 on invalid framing (st->err says why; the connection must be
 * closed). After 1 or -1 the same value is returned with nothing consumed.
 */
int h1_chunk_feed(struct h1_chunk *st, const char *buf, size_t len, size_t *consumed,
		  size_t *data_bytes);

/* --- building heads --- */

/* Standard reason phrase of a status code; "Unknown" for codes without one. */
const char *h1_status_text(unsigned int status);

/*
 * Writer for heads the proxy generates or rebuilds. Calls append; the first
 * call that does not fit, or that gets a CR, LF or NUL in a name, value,
 * target or reason, marks the writer failed and later calls do nothing.
 */
struct h1_out {
	char *buf;
	size_t size;
	size_t len;
	int err; /* 0, -ENOSPC or -EINVAL: the first failure */
};

void h1_out_init(struct h1_out *o, char *buf, size_t size);
/* "HTTP/1.x CODE REASON\r\n"; reason NULL selects h1_status_text(). */
void h1_out_status(struct h1_out *o, unsigned int version, unsigned int status, const char *reason);
/* "METHOD TARGET HTTP/1.x\r\n" */
void h1_out_request(struct h1_out *o, const char *method, size_t method_len, const char *target,
		    size_t target_len, unsigned int version);
/* "Name: value\r\n" */
void h1_out_header(struct h1_out *o, const char *name, size_t name_len, const char *value,
		   size_t value_len);
void h1_out_header_str(struct h1_out *o, const char *name, const char *value);
void h1_out_header_u64(struct h1_out *o, const char *name, uint64_t value);
/* The empty line closing the head. */
void h1_out_end(struct h1_out *o);
/* Bytes written, or -ENOSPC when something did not fit, -EINVAL on a forbidden byte. */
long h1_out_result(const struct h1_out *o);

/*
 * A complete error response the proxy sends itself (400, 408, 422, 502, 503,
 * 504, ...): status line, Content-Type, Content-Length, Cache-Control and
 * "Connection: close", and a short HTML body. Returns its length or -ENOSPC.
 */
long h1_build_error(char *buf, size_t size, unsigned int status);

#endif
