/// The themes shipped in `themes/`, compiled in so the binary works from any folder.
/// Generated from themes/*.theme; a test checks that both stay identical.
public enum BuiltinThemes {
    /// Built-in theme names.
    public static let names = ["dark", "light", "high-contrast", "colour-blind-safe"]

    /// The built-in theme `name`, parsed (nil when unknown).
    public static func named(_ name: String) -> Theme? {
        guard let text = source[name] else { return nil }
        return try? ThemeFile.parse(text, defaultName: name)
    }

    /// The text of each built-in theme file.
    public static let source: [String: String] = [
        "dark": #"""
# Featurescope theme "dark": light text on the terminal's dark background.
# Format: ROLE fg=COLOUR bg=COLOUR [bold] [underline] [reverse] [mono=ATTR,ATTR]
# COLOUR is #rrggbb or default (the terminal's own). mono= attributes carry the meaning without colour.
# Roles (closed set): text muted border title header selection tabBar tabActive status statusKey accent
# good bad warn match bar barTrack heat1..heat5 (activation ramp, weak→strong) cursorToken overlay input
# Ramp colours sit on the xterm-256 cube so 256-colour terminals show the same ramp.
name: dark
text        fg=#d0d4da bg=default
muted       fg=#7f8790 bg=default
border      fg=#4a5160 bg=default
title       fg=#8ec7ff bg=default bold
header      fg=#aab4c0 bg=#262a33 bold mono=underline
selection   fg=#ffffff bg=#005f87 bold mono=reverse
tabBar      fg=#9aa3ad bg=#1c1f26
tabActive   fg=#10141a bg=#8ec7ff bold mono=reverse,bold
status      fg=#c8ced6 bg=#1c1f26 mono=reverse
statusKey   fg=#ffd580 bg=#1c1f26 bold mono=reverse,bold
accent      fg=#8ec7ff bg=default bold
good        fg=#7fd18b bg=default
bad         fg=#ff7b72 bg=default mono=bold
warn        fg=#e3b341 bg=default
match       fg=#10141a bg=#e3b341 mono=underline,bold
bar         fg=#5fa8ff bg=default
barTrack    fg=#3a3f4a bg=default
heat1       fg=#f0f0f0 bg=#4e4e4e mono=underline
heat2       fg=#ffffff bg=#875f00 mono=underline
heat3       fg=#000000 bg=#af5f00 mono=underline,bold
heat4       fg=#000000 bg=#d78700 mono=reverse
heat5       fg=#000000 bg=#ffaf00 bold mono=reverse,bold
cursorToken fg=#000000 bg=#8ec7ff bold underline mono=reverse,underline
overlay     fg=#e0e6ee bg=#232833
input       fg=#ffffff bg=#2a303c mono=underline
"""#,
        "light": #"""
# Featurescope theme "light": dark text on a light background.
# Format: ROLE fg=COLOUR bg=COLOUR [bold] [underline] [reverse] [mono=ATTR,ATTR]
name: light
text        fg=#1f2328 bg=default
muted       fg=#6e7781 bg=default
border      fg=#b8c0c8 bg=default
title       fg=#0550ae bg=default bold
header      fg=#24292f bg=#e6eaef bold mono=underline
selection   fg=#000000 bg=#c8dcf5 bold mono=reverse
tabBar      fg=#57606a bg=#eaeef2
tabActive   fg=#ffffff bg=#0550ae bold mono=reverse,bold
status      fg=#24292f bg=#eaeef2 mono=reverse
statusKey   fg=#8a4600 bg=#eaeef2 bold mono=reverse,bold
accent      fg=#0550ae bg=default bold
good        fg=#116329 bg=default
bad         fg=#cf222e bg=default mono=bold
warn        fg=#9a6700 bg=default
match       fg=#000000 bg=#ffd33d mono=underline,bold
bar         fg=#0969da bg=default
barTrack    fg=#d0d7de bg=default
heat1       fg=#1f2328 bg=#fff1d6 mono=underline
heat2       fg=#1f2328 bg=#ffd99a mono=underline
heat3       fg=#1f2328 bg=#ffb95c mono=underline,bold
heat4       fg=#1f2328 bg=#f08a24 mono=reverse
heat5       fg=#ffffff bg=#b35400 bold mono=reverse,bold
cursorToken fg=#ffffff bg=#0550ae bold underline mono=reverse,underline
overlay     fg=#1f2328 bg=#f6f8fa
input       fg=#000000 bg=#ffffff mono=underline
"""#,
        "high-contrast": #"""
# Featurescope theme "high-contrast": pure black, white and yellow; every ramp step also changes attributes.
# Format: ROLE fg=COLOUR bg=COLOUR [bold] [underline] [reverse] [mono=ATTR,ATTR]
name: high-contrast
text        fg=#ffffff bg=#000000
muted       fg=#c0c0c0 bg=#000000
border      fg=#ffffff bg=#000000
title       fg=#ffff00 bg=#000000 bold
header      fg=#000000 bg=#ffffff bold mono=reverse
selection   fg=#000000 bg=#ffff00 bold mono=reverse
tabBar      fg=#ffffff bg=#000000
tabActive   fg=#000000 bg=#ffff00 bold mono=reverse,bold
status      fg=#000000 bg=#ffffff mono=reverse
statusKey   fg=#000000 bg=#ffff00 bold mono=reverse,bold
accent      fg=#00ffff bg=#000000 bold
good        fg=#00ff00 bg=#000000 bold
bad         fg=#ff4040 bg=#000000 bold mono=bold
warn        fg=#ffff00 bg=#000000
match       fg=#000000 bg=#00ffff bold mono=underline,bold
bar         fg=#ffffff bg=#000000
barTrack    fg=#606060 bg=#000000
heat1       fg=#ffffff bg=#000000 underline mono=underline
heat2       fg=#ffff00 bg=#000000 underline mono=underline
heat3       fg=#ffff00 bg=#000000 bold underline mono=underline,bold
heat4       fg=#000000 bg=#c0c000 mono=reverse
heat5       fg=#000000 bg=#ffff00 bold mono=reverse,bold
cursorToken fg=#000000 bg=#00ffff bold underline mono=reverse,underline
overlay     fg=#ffffff bg=#000000
input       fg=#ffffff bg=#000000 underline mono=underline
"""#,
        "colour-blind-safe": #"""
# Featurescope theme "colour-blind-safe": Okabe-Ito hues for meaning, a viridis-like ramp for activations
# (purple → blue → teal → green → yellow, distinguishable with deuteranopia, protanopia and tritanopia);
# good/bad also carry ✓/✗ marks. Ramp colours sit on the xterm-256 cube so 256-colour terminals show them exactly.
# Format: ROLE fg=COLOUR bg=COLOUR [bold] [underline] [reverse] [mono=ATTR,ATTR]
name: colour-blind-safe
text        fg=#e6e6e6 bg=default
muted       fg=#8c8c8c bg=default
border      fg=#555555 bg=default
title       fg=#56b4e9 bg=default bold
header      fg=#e6e6e6 bg=#2b2b2b bold mono=underline
selection   fg=#ffffff bg=#0072b2 bold mono=reverse
tabBar      fg=#b0b0b0 bg=#1e1e1e
tabActive   fg=#000000 bg=#56b4e9 bold mono=reverse,bold
status      fg=#e6e6e6 bg=#1e1e1e mono=reverse
statusKey   fg=#f0e442 bg=#1e1e1e bold mono=reverse,bold
accent      fg=#56b4e9 bg=default bold
good        fg=#56b4e9 bg=default
bad         fg=#e69f00 bg=default mono=bold
warn        fg=#f0e442 bg=default
match       fg=#000000 bg=#f0e442 mono=underline,bold
bar         fg=#009e73 bg=default
barTrack    fg=#3c3c3c bg=default
heat1       fg=#ffffff bg=#5f0087 mono=underline
heat2       fg=#ffffff bg=#005f87 mono=underline
heat3       fg=#ffffff bg=#008787 mono=underline,bold
heat4       fg=#000000 bg=#5faf5f mono=reverse
heat5       fg=#000000 bg=#ffd700 bold mono=reverse,bold
cursorToken fg=#000000 bg=#ffffff bold underline mono=reverse,underline
overlay     fg=#e6e6e6 bg=#262626
input       fg=#ffffff bg=#303030 mono=underline
"""#,
    ]
}
