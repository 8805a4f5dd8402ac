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
boot_pd:
    .skip 0x4000
boot_stack:
    .skip 0x40000
boot_stack_top:

    .text
