/* PVH entry: Xen (or QEMU -kernel) jumps to _pvh_start32 in 32-bit
 * protected mode, paging off, flat segments, %ebx = physical address of
 * struct hvm_start_info (Xen's docs/misc/pvh.pandoc). We zero .bss, build an
 * identity map of the first 4 GiB with 2 MiB pages, enable PAE, SSE and
 * long mode, load our GDT and jump to 64-bit code, which calls
 * mirage_xen_rt_start(start_info) on the boot stack. */

    .section .note.Xen, "a", @note
    .p2align 2
    .long 4                     /* namesz: "Xen\0" */
    .long 4                     /* descsz */
    .long 18                    /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .p2align 2
    .long _pvh_start32
    .p2align 2

    .section .text.boot, "ax"
    .code32
    .globl _pvh_start32
_pvh_start32:
    cli
    cld
    /* %ebx survives: rep stos uses %eax, %ecx, %edi only. */
    mov $__bss_start, %edi
    mov $__bss_end, %ecx
    sub %edi, %ecx
    xor %eax, %eax
    rep stosb

    /* PML4[0] -> PDPT; PDPT[0..4] -> 4 page directories. */
    mov $boot_pdpt, %eax
    or $0x3, %eax
    mov %eax, boot_pml4
    mov $boot_pd, %eax
    or $0x3, %eax
    mov $boot_pdpt, %edx
    mov $4, %ecx
1:  mov %eax, (%edx)
    add $0x1000, %eax
    add $8, %edx
    loop 1b
    /* 2048 PD entries: present, writable, 2 MiB page (PS). */
    mov $boot_pd, %edx
    mov $0x83, %eax
    mov $2048, %ecx
2:  mov %eax, (%edx)
    add $0x200000, %eax
    add $8, %edx
    loop 2b

    /* CR4: PAE | OSFXSR | OSXMMEXCPT (SSE is used by compiled code). */
    mov %cr4, %eax
    or $0x620, %eax
    mov %eax, %cr4
    mov $boot_pml4, %eax
    mov %eax, %cr3
    /* EFER.LME */
    mov $0xC0000080, %ecx
    rdmsr
    or $0x100, %eax
    wrmsr
    /* CR0: PG | PE | MP, clear EM and TS (no x87 emulation traps). */
    mov %cr0, %eax
    and $0xFFFFFFF3, %eax
    or $0x80000003, %eax
    mov %eax, %cr0

    lgdt boot_gdt_ptr
    ljmp $0x08, $pvh_start64

    .code64
pvh_start64:
    mov $0x10, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    xor %eax, %eax
    mov %eax, %fs
    mov %eax, %gs
    mov $boot_stack_top, %rsp
    xor %ebp, %ebp
    mov %ebx, %edi
    call mirage_xen_rt_start
3:  cli
    hlt
    jmp 3b

/* Idle until an interrupt: sti's one-instruction shadow means an interrupt
 * pending at sti is taken after hlt has begun, so it cannot be lost. This is
 * a real function (not inline asm), so the interrupt frame the CPU pushes on
 * the current stack lands below a call's return address, never in a caller's
 * red zone. Returns with interrupts disabled again. */
    .globl mirage_xen_rt_halt
mirage_xen_rt_halt:
    sti
    hlt
    cli
    ret

/* The event-channel upcall vector: clear vcpu_info.evtchn_upcall_pending
 * (Xen re-injects the vector while it is set) and return. The pending ports
 * are handled by the executor after mirage_xen_rt_halt returns. */
    .globl mirage_xen_rt_upcall
mirage_xen_rt_upcall:
    push %rax
    mov mirage_xen_rt_upcall_pending(%rip), %rax
    test %rax, %rax
    jz 4f
    movb $0, (%rax)
4:  pop %rax
    iretq


/* CPU exceptions 0-31: push a zero where the CPU pushes no error code, then
 * the vector, and call mirage_xen_rt_exception(frame) with frame pointing
 * at [vector, error, rip, cs, rflags, rsp, ss]. It prints and never returns. */
mirage_xen_rt_exc0:
    push $0
    push $0
    jmp mirage_xen_rt_exc_common
mirage_xen_rt_exc1:
    push $0
    push $1
    jmp mirage_xen_rt_exc_common
mirage_xen_rt_exc2:
    push $0
    push $2
    jmp mirage_xen_rt_exc_common
mirage_xen_rt_exc3:
    push $0
    push $3
    jmp mirage_xen_rt_exc_common
mirage_xen_rt_exc4:
    push $0
    push $4
    jmp mirage_xen_rt_exc_common
mirage_xen_rt_exc5:
    push $0
    push $5
    jmp mirage_xen_rt_exc_common
mirage_xen_rt_exc6:
    push $0
    push $6
    jmp mirage_xen_rt_exc_common
mirage_xen_rt_exc7:
    push $0
    push $7
    jmp mirage_xen_rt_exc_common
mirage_xen_rt_exc8:
    push $8
    jmp mirage_xen_rt_exc_common
mirage_xen_rt_exc9:
    push $0
    push $9
    jmp mirage_xen_rt_exc_common
mirage_xen_rt_exc10:
    push $10
    jmp mirage_xen_rt_exc_common
mirage_xen_rt_exc11:
    push $11
    jmp mirage_xen_rt_exc_common
mirage_xen_rt_exc12:
    push $12
    jmp mirage_xen_rt_exc_common
mirage_xen_rt_exc13:
    push $13
    jmp mirage_xen_rt_exc_common
mirage_xen_rt_exc14:
    push $14
    jmp mirage_xen_rt_exc_common
mirage_xen_rt_exc15:
    push $0
    push $15
    jmp mirage_xen_rt_exc_common
mirage_xen_rt_exc16:
    push $0
    push $16
    jmp mirage_xen_rt_exc_common
mirage_xen_rt_exc17:
    push $17
    jmp mirage_xen_rt_exc_common
mirage_xen_rt_exc18:
    push $0
    push $18
    jmp mirage_xen_rt_exc_common
mirage_xen_rt_exc19:
    push $0
    push $19
    jmp mirage_xen_rt_exc_common
mirage_xen_rt_exc20:
    push $0
    push $20
    jmp mirage_xen_rt_exc_common
mirage_xen_rt_exc21:
    push $21
    jmp mirage_xen_rt_exc_common
mirage_xen_rt_exc22:
    push $0
    push $22
    jmp mirage_xen_rt_exc_common
mirage_xen_rt_exc23:
    push $0
    push $23
    jmp mirage_xen_rt_exc_common
mirage_xen_rt_exc24:
    push $0
    push $24
    jmp mirage_xen_rt_exc_common
mirage_xen_rt_exc25:
    push $0
    push $25
    jmp mirage_xen_rt_exc_common
mirage_xen_rt_exc26:
    push $0
    push $26
    jmp mirage_xen_rt_exc_common
mirage_xen_rt_exc27:
    push $0
    push $27
    jmp mirage_xen_rt_exc_common
mirage_xen_rt_exc28:
    push $0
    push $28
    jmp mirage_xen_rt_exc_common
mirage_xen_rt_exc29:
    push $29
    jmp mirage_xen_rt_exc_common
mirage_xen_rt_exc30:
    push $30
    jmp mirage_xen_rt_exc_common
mirage_xen_rt_exc31:
    push $0
    push $31
    jmp mirage_xen_rt_exc_common
mirage_xen_rt_exc_common:
    mov %rsp, %rdi
    and $-16, %rsp
    call mirage_xen_rt_exception
5:  cli
    hlt
    jmp 5b

    .section .rodata.boot, "a"
    .p2align 3
    .globl mirage_xen_rt_exception_entries
mirage_xen_rt_exception_entries:
    .quad mirage_xen_rt_exc0
    .quad mirage_xen_rt_exc1
    .quad mirage_xen_rt_exc2
    .quad mirage_xen_rt_exc3
    .quad mirage_xen_rt_exc4
    .quad mirage_xen_rt_exc5
    .quad mirage_xen_rt_exc6
    .quad mirage_xen_rt_exc7
    .quad mirage_xen_rt_exc8
    .quad mirage_xen_rt_exc9
    .quad mirage_xen_rt_exc10
    .quad mirage_xen_rt_exc11
    .quad mirage_xen_rt_exc12
    .quad mirage_xen_rt_exc13
    .quad mirage_xen_rt_exc14
    .quad mirage_xen_rt_exc15
    .quad mirage_xen_rt_exc16
    .quad mirage_xen_rt_exc17
    .quad mirage_xen_rt_exc18
    .quad mirage_xen_rt_exc19
    .quad mirage_xen_rt_exc20
    .quad mirage_xen_rt_exc21
    .quad mirage_xen_rt_exc22
    .quad mirage_xen_rt_exc23
    .quad mirage_xen_rt_exc24
    .quad mirage_xen_rt_exc25
    .quad mirage_xen_rt_exc26
    .quad mirage_xen_rt_exc27
    .quad mirage_xen_rt_exc28
    .quad mirage_xen_rt_exc29
    .quad mirage_xen_rt_exc30
    .quad mirage_xen_rt_exc31

    .section .rodata.boot, "a"
    .p2align 3
boot_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF    /* 0x08: 64-bit code */
    .quad 0x00CF92000000FFFF    /* 0x10: data */
boot_gdt_end:
    .p2align 3
boot_gdt_ptr:
    .word boot_gdt_end - boot_gdt - 1
    .quad boot_gdt

    .section .bss.boot, "aw", @nobits
    .p2align 12
boot_pml4:
    .skip 0x1000
boot_pdpt:
    .skip 0x1000
    .globl mirage_xen_rt_boot_pd
mirage_xen_rt_boot_pd:
boot_pd:
    .skip 0x4000
    /* The first page of the stack becomes a guard page (arch/guard.rs). */
    .globl mirage_xen_rt_boot_stack
mirage_xen_rt_boot_stack:
boot_stack:
    .skip 0x40000
boot_stack_top:

    .text
