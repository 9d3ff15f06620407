# SPDX-License-Identifier: AGPL-3.0-or-later
# shellcheck shell=bash
# Tiny bootable raw disk images for guest tests, written byte by byte (nothing is downloaded
# or assembled at test time), and two QMP helpers to drive them. Source this file, then:
#
#   guest_image_poweroff FILE [SIZE]  boot sector that powers the VM off when the ACPI power
#                                     button is pressed (QMP system_powerdown, `qm shutdown`):
#                                     QEMU emits SHUTDOWN {"guest":true,"reason":"guest-shutdown"}
#   guest_image_hang FILE [SIZE]      boot sector that ignores ACPI and idles forever
#   guest_qmp SOCKET COMMAND [ARGS-JSON]
#                                     one QMP command on a VM's QMP socket (handshake included);
#                                     prints the "return" value as JSON, exit 1 on an error reply
#   guest_image_wait_up SOCKET [SECONDS]
#                                     wait (default 30 s) until the guest behind the QMP socket
#                                     runs its boot sector and, for the poweroff image, listens
#                                     to the power button; exit 1 on timeout
#
# Wait for guest_image_wait_up before pressing the power button: QEMU drops a press the guest
# has not enabled yet, and the BIOS takes from 0.3 s (TCG) to several seconds to get there.
# Both images store "PVUP" (dword 0x50555650) at guest physical 0x7e00 once ready; the helper
# reads it with the HMP command `xp`.
#
# SIZE (default 1M, anything `truncate -s` takes) pads the file with zeros so it looks like a
# disk; the boot sector is the first 512 bytes. Both write a line to COM1 (0x3f8) when up
# ("PVE-TEST-GUEST poweroff: up" / "PVE-TEST-GUEST hang: up"), the poweroff image another
# ("PVE-TEST-GUEST poweroff: power button") before it powers off, or "... no ACPI PM I/O"
# when it found no PM block; add e.g. `-serial file:$TMP/serial.log` to QEMU to see them.
#
# How the poweroff image works: the ACPI PM1 registers live at PMBASE, which the BIOS programs
# into PCI config register 0x40 of the PM function: PIIX4 00:01.3 on the `pc` machine (SeaBIOS
# 1.16 uses 0x600), ICH9 LPC 00:1f.0 on q35. ACPI mode stays off (no SCI); the guest polls.
#   read PMBASE through 0xcf8/0xcfc (absent function reads as all ones)
#   write 0x0100 to PM1a_EN  (PMBASE+2): power button enable, so QEMU latches a press in
#                                        PM1a_STS instead of ignoring it
#   store "PVUP" at 0x7e00
#   loop: sti; hlt (the BIOS timer interrupt wakes it 18 times a second);
#         read PM1a_STS (PMBASE+0), test bit 8 (PWRBTN_STS)
#   write 0x2000 to PM1a_CNT (PMBASE+4): SLP_EN with SLP_TYP 0 = soft off, which QEMU reports
#                                        as a guest-initiated shutdown
# Checked with QEMU 7.2 on pc and q35, TCG and KVM (-cpu qemu64).
#
# The bytes, assembled from this 16-bit code (GNU as .code16, loaded at 0x7c00):
#   poweroff:
#     00 fa                cli                   51 be c3 7c    mov $msg_nopm,%si
#     01 31 c0             xor %ax,%ax           54 e8 1a 00    call print
#     03 8e d8             mov %ax,%ds           57 fb          sti
#     05 8e d0             mov %ax,%ss           58 f4          hlt
#     07 bc 00 7c          mov $0x7c00,%sp       59 eb fc       jmp 57
#     0a be 7d 7c          mov $msg_up,%si       5b ba f8 0c    pmbase: mov $0xcf8,%dx
#     0d e8 61 00          call print            5e 66 ef       out %eax,(%dx)
#     10 66 b8 40 0b 00 80 mov $0x80000b40,%eax  60 ba fc 0c    mov $0xcfc,%dx
#     16 e8 42 00          call pmbase           63 66 ed       in (%dx),%eax
#     19 75 0b             jnz 26                65 83 f8 ff    cmp $0xffff,%ax
#     1b 66 b8 40 f8 00 80 mov $0x8000f840,%eax  68 74 04       je 6e
#     21 e8 37 00          call pmbase           6a 83 e0 c0    and $0xffc0,%ax
#     24 74 2b             jz 51                 6d c3          ret
#     26 89 c3             mov %ax,%bx           6e 31 c0       xor %ax,%ax
#     28 8d 57 02          lea 2(%bx),%dx        70 c3          ret
#     2b b8 00 01          mov $0x0100,%ax       71 ba f8 03    print: mov $0x3f8,%dx
#     2e ef                out %ax,(%dx)         74 ac          lodsb
#     2f 66 c7 06 00 7e 50 56 55 50              75 84 c0       test %al,%al
#                          movl $0x50555650,0x7e00  77 74 03    jz 7c
#     38 fb                sti                   79 ee          out %al,(%dx)
#     39 f4                hlt                   7a eb f8       jmp 74
#     3a 89 da             mov %bx,%dx           7c c3          ret
#     3c ed                in (%dx),%ax          7d "PVE-TEST-GUEST poweroff: up\r\n\0"
#     3d a9 00 01          test $0x0100,%ax      9b "PVE-TEST-GUEST poweroff: power button\r\n\0"
#     40 74 f6             jz 38                 c3 "PVE-TEST-GUEST poweroff: no ACPI PM I/O\r\n\0"
#     42 be 9b 7c          mov $msg_button,%si
#     45 e8 29 00          call print
#     48 8d 57 04          lea 4(%bx),%dx
#     4b b8 00 20          mov $0x2000,%ax
#     4e ef                out %ax,(%dx)
#     4f eb e7             jmp 38
#   hang:
#     00 fa cli; 01 31 c0 xor %ax,%ax; 03 8e d8 mov %ax,%ds; 05 8e d0 mov %ax,%ss;
#     07 bc 00 7c mov $0x7c00,%sp; 0a be 25 7c mov $msg,%si; 0d ba f8 03 mov $0x3f8,%dx;
#     10 ac lodsb; 11 84 c0 test %al,%al; 13 74 03 jz 18; 15 ee out %al,(%dx); 16 eb f8 jmp 10;
#     18 66 c7 06 00 7e 50 56 55 50 movl $0x50555650,0x7e00; 21 fb sti; 22 f4 hlt; 23 eb fc jmp 21;
#     25 "PVE-TEST-GUEST hang: up\r\n\0"
# Both end with the MBR boot signature 55 aa at offset 510.

# _guest_image_write FILE SIZE PRINTF-FORMAT: the format's bytes, zeros up to 510, 55 aa, then
# zeros up to SIZE.
_guest_image_write() {
    local file=$1 size=$2 bytes=$3
    # shellcheck disable=SC2059 # the format is the data
    printf "$bytes" >"$file" || return 1
    [ "$(stat -c %s "$file")" -le 510 ] || { echo "guest image code too long" >&2; return 1; }
    truncate -s 510 "$file" && printf '\x55\xaa' >>"$file" || return 1
    [ "$size" = 512 ] || truncate -s "$size" "$file"
}

guest_image_poweroff() {
    local file=${1:?usage: guest_image_poweroff FILE [SIZE]} size=${2:-1M}
    _guest_image_write "$file" "$size" \
'\xfa\x31\xc0\x8e\xd8\x8e\xd0\xbc\x00\x7c\xbe\x7d\x7c\xe8\x61\x00'\
'\x66\xb8\x40\x0b\x00\x80\xe8\x42\x00\x75\x0b\x66\xb8\x40\xf8\x00'\
'\x80\xe8\x37\x00\x74\x2b\x89\xc3\x8d\x57\x02\xb8\x00\x01\xef\x66'\
'\xc7\x06\x00\x7e\x50\x56\x55\x50\xfb\xf4\x89\xda\xed\xa9\x00\x01'\
'\x74\xf6\xbe\x9b\x7c\xe8\x29\x00\x8d\x57\x04\xb8\x00\x20\xef\xeb'\
'\xe7\xbe\xc3\x7c\xe8\x1a\x00\xfb\xf4\xeb\xfc\xba\xf8\x0c\x66\xef'\
'\xba\xfc\x0c\x66\xed\x83\xf8\xff\x74\x04\x83\xe0\xc0\xc3\x31\xc0'\
'\xc3\xba\xf8\x03\xac\x84\xc0\x74\x03\xee\xeb\xf8\xc3'\
'PVE-TEST-GUEST poweroff: up\r\n\0'\
'PVE-TEST-GUEST poweroff: power button\r\n\0'\
'PVE-TEST-GUEST poweroff: no ACPI PM I/O\r\n\0'
}

guest_image_hang() {
    local file=${1:?usage: guest_image_hang FILE [SIZE]} size=${2:-1M}
    _guest_image_write "$file" "$size" \
'\xfa\x31\xc0\x8e\xd8\x8e\xd0\xbc\x00\x7c\xbe\x25\x7c\xba\xf8\x03'\
'\xac\x84\xc0\x74\x03\xee\xeb\xf8\x66\xc7\x06\x00\x7e\x50\x56\x55'\
'\x50\xfb\xf4\xeb\xfc'\
'PVE-TEST-GUEST hang: up\r\n\0'
}

guest_qmp() {
    local sock=${1:?usage: guest_qmp SOCKET COMMAND [ARGS-JSON]} cmd=${2:?} args=${3:-}
    python3 - "$sock" "$cmd" "$args" <<'EOF'
import json, socket, sys
sock, cmd, args = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sock)
f = s.makefile("rw")
def call(name, arguments=None):
    req = {"execute": name}
    if arguments is not None:
        req["arguments"] = arguments
    f.write(json.dumps(req) + "\n")
    f.flush()
    while True:
        line = f.readline()
        if not line:
            sys.exit("QMP connection closed")
        reply = json.loads(line)
        if "return" in reply:
            return reply["return"]
        if "error" in reply:
            sys.exit("QMP error: " + json.dumps(reply["error"]))
if "QMP" not in json.loads(f.readline()):
    sys.exit("no QMP greeting")
call("qmp_capabilities")
print(json.dumps(call(cmd, json.loads(args) if args else None)))
EOF
}

guest_image_wait_up() {
    local sock=${1:?usage: guest_image_wait_up SOCKET [SECONDS]} secs=${2:-30} i out
    for ((i = 0; i < secs * 5; i++)); do
        out=$(guest_qmp "$sock" human-monitor-command '{"command-line":"xp /1wx 0x7e00"}' 2>/dev/null)
        [[ $out == *0x50555650* ]] && return 0
        sleep 0.2
    done
    return 1
}
