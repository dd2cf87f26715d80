/*
 * The ACPI power button of -M pc, as a guest without firmware sees it:
 * switch ACPI mode on through the SMI command port, enable the power
 * button event, wait for PWRBTN_STS (system_powerdown), clear it (write
 * one to clear), then power off through SLP_TYP 0 + SLP_EN (S5).
 * ACPI 6.5, 4.8.3.1 (PM1 event registers) and 4.8.3.2 (PM1 control).
 */
#include "guest.h"

#define PM1_STS 0x600
#define PM1_EN  0x602
#define PM1_CNT 0x604
#define PM_TMR  0x608
#define SMI_CMD 0xb2
#define PWRBTN  (1u << 8)

int main(const struct mb_info *mbi)
{
    uint32_t t0, t1;

    if (inw(PM1_CNT) & 1) {
        printf("powerbtn: SCI_EN set before ACPI was enabled\n");
        return 2;
    }
    outb(SMI_CMD, 0xf1);
    if (!(inw(PM1_CNT) & 1)) {
        printf("powerbtn: ACPI enable did not set SCI_EN\n");
        return 3;
    }
    /* The PM timer runs (24 bits at 3.58 MHz). */
    t0 = inl(PM_TMR);
    do {
        t1 = inl(PM_TMR);
    } while (t1 == t0);
    if ((t0 | t1) >> 24) {
        printf("powerbtn: PM timer wider than 24 bits\n");
        return 4;
    }
    outw(PM1_EN, PWRBTN);
    printf("powerbtn: waiting for the power button\n");
    while (!(inw(PM1_STS) & PWRBTN)) {
        __asm__ volatile("pause");
    }
    printf("powerbtn: pressed\n");
    outw(PM1_STS, PWRBTN);
    if (inw(PM1_STS) & PWRBTN) {
        printf("powerbtn: PWRBTN_STS did not clear\n");
        return 5;
    }
    printf("powerbtn: powering off\n");
    outw(PM1_CNT, (1u << 13) | 1);
    printf("powerbtn: still running after S5\n");
    return 6;
}
