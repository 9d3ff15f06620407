/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Value lists that several schemas share, as comma-separated string literals for the variadic
 * enum macros (API_ENUM, ENUM_STR, VALUES): the VNC keyboard layouts (datacenter.cfg and guest
 * configs) and the web UI languages (datacenter.cfg and its API schema).
 */
#pragma once

/* clang-format off */
#define PVE_KEYBOARD_LAYOUTS                                                                      \
    "de", "de-ch", "da", "en-gb", "en-us", "es", "fi", "fr", "fr-be", "fr-ca", "fr-ch", "hu",     \
    "is", "it", "ja", "lt", "mk", "nl", "no", "pl", "pt", "pt-br", "sv", "sl", "tr"

#define PVE_UI_LANGUAGES                                                                          \
    "ar", "ca", "da", "de", "en", "es", "eu", "fa", "fr", "hr", "he", "it", "ja", "ka", "kr",      \
    "nb", "nl", "nn", "pl", "pt_BR", "ru", "sl", "sv", "tr", "ukr", "zh_CN", "zh_TW"
/* clang-format on */
