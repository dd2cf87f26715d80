/*
 * Every operation the decoder can name, as an X-macro list:
 *   X(NAME, family)
 * NAME becomes OP_NAME (enum insn_op) and "name" in logs; family says which
 * exec-FAMILY.c runs it (DESIGN.md: alu, shift, muldiv, string, control,
 * system, x87, sse, ...).  An operation with no handler yet is decoded (so
 * lengths are right) and raises #UD when executed, logged under -d unimp.
 *
 * One name per mnemonic, not per encoding: the operand list in struct insn
 * carries the form.  Condition-code families (jcc, setcc, cmovcc) are one
 * name each; the condition is the low 4 bits of insn->opcode.
 */
#ifndef HYVM_TCG_INSN_OPS_H
#define HYVM_TCG_INSN_OPS_H

#define INSN_OPS(X) \
    X(INVALID, none) \
    /* data movement */ \
    X(MOV, mov) X(MOVZX, mov) X(MOVSX, mov) X(MOVSXD, mov) X(LEA, mov) \
    X(XCHG, mov) X(CMPXCHG, mov) X(CMPXCHG8B, mov) X(CMPXCHG16B, mov) \
    X(XADD, mov) X(BSWAP, mov) X(MOVBE, mov) X(CMOVCC, mov) X(SETCC, mov) \
    X(PUSH, stack) X(POP, stack) X(PUSHA, stack) X(POPA, stack) \
    X(PUSHF, stack) X(POPF, stack) X(ENTER, stack) X(LEAVE, stack) \
    X(CBW, mov) X(CWD, mov) X(XLAT, mov) X(LAHF, mov) X(SAHF, mov) \
    X(MOV_SREG, system) X(LDS, system) X(LES, system) X(LFS, system) \
    X(LGS, system) X(LSS, system) \
    /* integer arithmetic and logic */ \
    X(ADD, alu) X(OR, alu) X(ADC, alu) X(SBB, alu) X(AND, alu) X(SUB, alu) \
    X(XOR, alu) X(CMP, alu) X(TEST, alu) X(INC, alu) X(DEC, alu) \
    X(NEG, alu) X(NOT, alu) \
    X(DAA, alu) X(DAS, alu) X(AAA, alu) X(AAS, alu) X(AAM, alu) X(AAD, alu) \
    X(ADCX, alu) X(ADOX, alu) \
    X(ROL, shift) X(ROR, shift) X(RCL, shift) X(RCR, shift) X(SHL, shift) \
    X(SHR, shift) X(SAL, shift) X(SAR, shift) X(SHLD, shift) X(SHRD, shift) \
    X(SARX, shift) X(SHLX, shift) X(SHRX, shift) X(RORX, shift) \
    X(MUL, muldiv) X(IMUL, muldiv) X(DIV, muldiv) X(IDIV, muldiv) \
    X(MULX, muldiv) \
    X(BT, bits) X(BTS, bits) X(BTR, bits) X(BTC, bits) X(BSF, bits) \
    X(BSR, bits) X(LZCNT, bits) X(TZCNT, bits) X(POPCNT, bits) \
    X(ANDN, bits) X(BEXTR, bits) X(BLSI, bits) X(BLSMSK, bits) \
    X(BLSR, bits) X(BZHI, bits) X(PDEP, bits) X(PEXT, bits) X(CRC32, bits) \
    /* control transfer */ \
    X(JMP, control) X(JMP_FAR, control) X(JCC, control) X(JCXZ, control) \
    X(LOOP, control) X(LOOPE, control) X(LOOPNE, control) \
    X(CALL, control) X(CALL_FAR, control) X(RET, control) X(RET_FAR, control) \
    X(INT, control) X(INT3, control) X(INTO, control) X(INT1, control) \
    X(IRET, control) X(BOUND, control) \
    /* strings (rep prefixes in insn->prefixes) */ \
    X(MOVS, string) X(CMPS, string) X(STOS, string) X(LODS, string) \
    X(SCAS, string) X(INS, string) X(OUTS, string) \
    /* flags and misc */ \
    X(CLC, misc) X(STC, misc) X(CMC, misc) X(CLD, misc) X(STD, misc) \
    X(CLI, misc) X(STI, misc) X(NOP, misc) X(PAUSE, misc) X(UD0, misc) \
    X(UD1, misc) X(UD2, misc) X(CPUID, misc) X(RDTSC, misc) X(RDTSCP, misc) \
    X(RDRAND, misc) X(RDSEED, misc) X(SALC, misc) X(ENDBR, misc) \
    X(PREFETCH, misc) X(CLFLUSH, misc) X(LFENCE, misc) X(MFENCE, misc) \
    X(SFENCE, misc) \
    /* system */ \
    X(IN, system) X(OUT, system) X(HLT, system) X(LGDT, system) \
    X(LIDT, system) X(SGDT, system) X(SIDT, system) X(LLDT, system) \
    X(SLDT, system) X(LTR, system) X(STR, system) X(LMSW, system) \
    X(SMSW, system) X(MOV_CR, system) X(MOV_DR, system) X(RDMSR, system) \
    X(WRMSR, system) X(INVLPG, system) X(INVPCID, system) X(CLTS, system) \
    X(LAR, system) X(LSL, system) X(VERR, system) X(VERW, system) \
    X(ARPL, system) X(SYSCALL, system) X(SYSRET, system) X(SYSENTER, system) \
    X(SYSEXIT, system) X(SWAPGS, system) X(WBINVD, system) X(INVD, system) \
    X(RDPMC, system) X(XGETBV, system) X(XSETBV, system) X(RSM, system) \
    X(MONITOR, system) X(MWAIT, system) X(RDFSBASE, system) \
    X(RDGSBASE, system) X(WRFSBASE, system) X(WRGSBASE, system) \
    X(STAC, system) X(CLAC, system) X(RDPID, system) \
    X(FXSAVE, system) X(FXRSTOR, system) X(XSAVE, system) X(XRSTOR, system) \
    X(XSAVEOPT, system) X(LDMXCSR, system) X(STMXCSR, system) \
    /* recognised so lengths are right; executed in later issues */ \
    X(X87, x87) X(MMX, sse) X(SSE, sse) X(AVX, sse) X(AVX512, sse) \
    X(OTHER, none)

enum insn_op {
#define INSN_OP_ENUM(name, family) OP_##name,
    INSN_OPS(INSN_OP_ENUM)
#undef INSN_OP_ENUM
    OP__MAX
};

#endif
