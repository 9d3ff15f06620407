/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* placeholder: skipped until written */
int main(void) {
    return 77;
}
