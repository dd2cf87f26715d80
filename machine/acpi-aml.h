/*
 * A small encoder for ACPI Machine Language (ACPI 6.5, chapter 20 "ACPI
 * Machine Language Specification"), enough for the DSDTs hyvm writes for
 * -M pc and -M microvm: names, integers, strings, packages, buffers,
 * resource templates (chapter 6.4), scopes, devices, methods with a few
 * operators, and operation regions with their fields.
 *
 * Terms are built bottom-up: a node is complete before aml_append() moves
 * it into its parent (which frees it), so the PkgLength of every framed
 * term is known when it is written.  The caller owns only the outermost
 * node and gets its bytes with aml_bytes().
 *
 * Names are ASL-style paths ("_SB.PCI0", "\\_SB.LNKA", "^ISA"); segments
 * shorter than four characters are padded with '_' as ASL does.  Names
 * come from hyvm's own code, never from the guest: a malformed one is a
 * programming error and asserts.
 *
 * Threads: none; the machine builds its tables on the main thread.
 */
#ifndef HYVM_ACPI_AML_H
#define HYVM_ACPI_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aml;

/* ---- containers; children are added with aml_append() ---- */

/* A plain sequence of terms (a table's TermList). */
struct aml *aml_list(void);
struct aml *aml_scope(const char *name);
struct aml *aml_device(const char *name);
struct aml *aml_method(const char *name, unsigned nargs, bool serialized);
struct aml *aml_if(struct aml *predicate);
struct aml *aml_else(void);
/* Package (20.2.5.4): elements are appended; at most 255. */
struct aml *aml_package(void);
/* A Buffer holding resource descriptors, closed by an End Tag (6.4.2.9). */
struct aml *aml_resource_template(void);

/* Moves child into parent and frees child. */
void aml_append(struct aml *parent, struct aml *child);
/* The encoded bytes of a (valid until a is changed or freed). */
const uint8_t *aml_bytes(const struct aml *a, size_t *len);
void aml_free(struct aml *a);

/* ---- data ---- */

struct aml *aml_int(uint64_t v);
struct aml *aml_string(const char *s);
/* A compressed EISA ID ("PNP0501") as a DWORD integer (6.1.5). */
struct aml *aml_eisaid(const char *id);
struct aml *aml_buffer(const uint8_t *data, size_t len);
/* A reference to a named object, e.g. a link device in a _PRT entry. */
struct aml *aml_name(const char *path);
struct aml *aml_local(unsigned n);
struct aml *aml_arg(unsigned n);

/* ---- named objects ---- */

struct aml *aml_name_decl(const char *name, struct aml *value);

/* Operation region spaces (19.6.100) and field flags (20.2.5.2). */
enum aml_region_space {
    AML_SYSTEM_MEMORY = 0,
    AML_SYSTEM_IO = 1,
    AML_PCI_CONFIG = 2,
};
enum aml_field_access {
    AML_ACCESS_ANY = 0, AML_ACCESS_BYTE = 1, AML_ACCESS_WORD = 2, AML_ACCESS_DWORD = 3,
};
enum aml_field_update {
    AML_PRESERVE = 0, AML_WRITE_AS_ONES = 1, AML_WRITE_AS_ZEROS = 2,
};

struct aml *aml_operation_region(const char *name, enum aml_region_space space,
                                 uint64_t offset, uint64_t len);
/* A Field over region; add units with aml_field_unit(), in order. */
struct aml *aml_field(const char *region, enum aml_field_access access,
                      enum aml_field_update update);
/* A named field of bits width; name NULL skips bits (a reserved field). */
void aml_field_unit(struct aml *field, const char *name, unsigned bits);

/* ---- operators (chapter 20.2.5) ---- */

struct aml *aml_store(struct aml *src, struct aml *dst);
struct aml *aml_return(struct aml *value);
/* target NULL: the result is only the operator's value. */
struct aml *aml_and(struct aml *a, struct aml *b, struct aml *target);
struct aml *aml_or(struct aml *a, struct aml *b, struct aml *target);
struct aml *aml_lequal(struct aml *a, struct aml *b);
struct aml *aml_lless(struct aml *a, struct aml *b);
struct aml *aml_notify(struct aml *object, struct aml *value);
struct aml *aml_create_dword_field(struct aml *buffer, struct aml *index, const char *name);

/* ---- resource descriptors for aml_resource_template() (6.4) ---- */

/* I/O port (6.4.2.5), 16-bit decode, min = max = base. */
struct aml *aml_io(uint16_t base, uint8_t align, uint8_t len);
/* IRQ without flags (6.4.2.1): edge, active high, exclusive. */
struct aml *aml_irq_no_flags(unsigned irq);
/* 32-bit fixed memory range (6.4.3.4). */
struct aml *aml_memory32_fixed(uint32_t base, uint32_t len, bool read_write);
/* Extended interrupt (6.4.3.6), as a consumer. */
struct aml *aml_interrupt(bool level, bool active_low, bool shared,
                          const uint32_t *gsi, unsigned n);
/* Address space descriptors (6.4.3.5), producers with fixed min and max. */
struct aml *aml_word_bus_number(uint16_t min, uint16_t max);
struct aml *aml_word_io(uint16_t min, uint16_t max);
struct aml *aml_dword_memory(uint32_t min, uint32_t max, bool cacheable);
struct aml *aml_qword_memory(uint64_t min, uint64_t max, bool cacheable);

#endif
