"""Drawing an explorer's figure fast, with the pixels matplotlib would draw.

An explorer redraws the same axes on every move of a control: cleared, drawn by the lesson's ``draw``,
rendered to PNG. Most of that time is matplotlib's own bookkeeping, redone identically each time; the
shortcuts here skip what a redraw does not change, each one checked pixel for pixel against
matplotlib's plain drawing for every lesson's explorer (``tests/test_widgets_pictures.py``):

* ``clear_keeping_ticks``: the tick objects survive the clear, when they look as new ones would;
* ``minor_ticks_as_one_line``: unlabelled minor ticks are one line of tick markers, not one Tick each;
* ``GlyphCachingCanvas``: text layouts and glyph bitmaps are worked out once, not on every draw;
* ``FrozenLayout`` and ``pin_titles``: the constrained layout and the title placement are computed once
  per set of label sizes;
* ``figure_png`` / ``png_bytes``: one draw, and a PNG encoder that does not try row filters.
"""

from __future__ import annotations

import io
import math
import struct
import zlib

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg, get_hinting_flag
from matplotlib.ft2font import RenderMode
from matplotlib.lines import Line2D
from matplotlib.text import Text
from matplotlib.ticker import NullLocator


class GlyphCachingCanvas(FigureCanvasAgg):
    """An Agg canvas whose renderer keeps what it has worked out about text: layouts and glyph bitmaps.

    matplotlib 3.11 lays text out and draws it one glyph at a time in Python, again on every draw: for
    each text its lines' places (``Text._get_layout``, three times a draw for a tick label), for each
    string its glyphs (font fallback, shaping, kerning: a quarter of a millisecond), and for each glyph
    its bitmap (FreeType's transform set, the glyph rasterized). Together that is about half of an
    explorer's render. Each result depends only on the inputs its key holds: a glyph's bitmap on the font,
    size, glyph, rotation and where the pen falls within its pixel (FreeType places it in 1/64 pixel;
    moving the pen by whole pixels moves the bitmap by as many). So the renderer keeps them and draws
    the same pixels (compared in the tests). With another matplotlib, whose text drawing this does not
    mirror, the canvas is a plain Agg canvas.
    """

    def get_renderer(self):
        renderer = super().get_renderer()
        if _MIRRORS_MATPLOTLIB and type(renderer) is RendererAgg:
            renderer.__class__ = _TextKeepingRenderer
            renderer._kept = {"glyph": {}, "string": {}, "text": {}}
        return renderer


_MIRRORS_MATPLOTLIB = matplotlib.__version__.startswith("3.11.") and hasattr(RendererAgg, "_draw_text_glyphs_and_boxes")
_KEPT = 50_000  # entries per kind (a glyph bitmap is a few hundred bytes); then that cache starts afresh


def _kept(cache: dict, key, make, *args, stored_key=None):
    """``cache[key]``, made by ``make(*args)`` the first time (and stored under ``stored_key()`` if given)."""
    found = cache.get(key)
    if found is None:
        found = make(*args)
        if len(cache) >= _KEPT:
            cache.clear()
        cache[key if stored_key is None else stored_key()] = found
    return found


class _TextKeepingRenderer(RendererAgg):
    """``RendererAgg`` of matplotlib 3.11 with its text methods keeping their results (see the canvas)."""

    def draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
        features = mtext.get_fontfeatures() if mtext is not None else None
        language = mtext.get_language() if mtext is not None else None
        if ismath or not isinstance(language, (str, type(None))):
            return super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)
        font = self._prepare_font(prop)
        size = prop.get_size_in_points()
        flags = get_hinting_flag()
        key = (font, size, self.dpi, s, flags, None if features is None else tuple(features), language)
        items = _kept(self._kept["string"], key, self._glyph_layout, font, s, flags, features, language)
        glyphs = ((item.ft_object, size, item.glyph_index, 0, 1, item.x, item.y) for item in items)
        self._draw_text_glyphs_and_boxes(gc, x, y, angle, glyphs, [])

    def _draw_text_glyphs_and_boxes(self, gc, x, y, angle, glyphs, boxes):
        cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
        flags, antialiased, height = get_hinting_flag(), gc.get_antialiased(), self.height
        for font, size, glyph_index, slant, extend, dx, dy in glyphs:  # dy is upwards
            px = round(0x40 * (x + dx * cos - dy * sin))               # the pen in 1/64 pixel, FreeType's y upwards
            py = round(0x40 * (height - y + dx * sin + dy * cos))
            key = (font, size, self.dpi, glyph_index, slant, extend, angle, px & 0x3F, py & 0x3F, flags, antialiased)
            buffer, left, top = _kept(self._kept["glyph"], key, self._rasterize, font, size, glyph_index, slant, extend,
                                      cos, sin, px & 0x3F, py & 0x3F, flags, antialiased)
            # draw_text_image's y is downwards & the bitmap's bottom side
            self._renderer.draw_text_image(buffer, left + (px >> 6),
                                           int(height) - (top + (py >> 6)) + buffer.shape[0], 0, gc)
        if boxes:  # mathtext's rules (fraction bars, roots), as matplotlib draws them
            super()._draw_text_glyphs_and_boxes(gc, x, y, angle, (), boxes)

    @staticmethod
    def _glyph_layout(font, s, flags, features, language):
        return font._layout(s, flags=flags, features=features, language=language)

    def _rasterize(self, font, size, glyph_index, slant, extend, cos, sin, px, py, flags, antialiased):
        """The glyph's bitmap with the pen at ``(px, py)`` (1/64 pixel) in pixel (0, 0); its left and top."""
        font.set_size(size, self.dpi)
        font._set_transform((0x10000 * np.array([[cos, -sin], [sin, cos]]) @ [[extend, extend * slant], [0, 1]])
                            .round().astype(int), [px, py])
        bitmap = font._render_glyph(glyph_index, flags, RenderMode.NORMAL if antialiased else RenderMode.MONO)
        buffer = np.array(bitmap.buffer)
        if not antialiased:
            buffer *= 0xff
        return buffer, bitmap.left, bitmap.top


_matplotlib_text_layout = Text._get_layout


def _text_layout(text: Text, renderer):
    """``Text._get_layout``, kept by an explorer's renderer: where a text's lines sit relative to its anchor.

    The result depends only on what the key holds; other renderers (the lessons' static figures) get
    matplotlib's own method.
    """
    if not isinstance(renderer, _TextKeepingRenderer):
        return _matplotlib_text_layout(text, renderer)
    props = text._fontproperties
    rest = (text.get_rotation(), text.get_rotation_mode(), text._horizontalalignment, text._verticalalignment,
            text._get_multialignment(), text._linespacing, text.get_usetex(), text.get_parse_math(),
            text.get_figure(root=True).dpi)
    key = (text._get_wrapped_text(), props, *rest)
    bbox, lines, corner = _kept(renderer._kept["text"], key, _matplotlib_text_layout, text, renderer,
                                stored_key=lambda: (key[0], props.copy(), *rest))  # font properties may change later
    return bbox.frozen(), list(lines), corner                               # the caller's own copies


if _MIRRORS_MATPLOTLIB:
    Text._get_layout = _text_layout


class clear_keeping_ticks:  # noqa: N801 (used like a function)
    """``ax.clear()``, keeping the axes' tick objects for the next draw when they look as new ones would.

    Creating ticks anew after every clear (two lines, two labels and a grid line each, dozens per log
    axis) is about a fifth of an update. After a clear an axis has one new tick (per kind), which the draw
    styles (``tick_params``, ``grid``, ``set_ticklabels(..., fontsize=...)``); every further tick that
    matplotlib makes copies that one's style (``Axis._copy_tick_props``). So the old ticks are put back
    only if the draw left the axis' tick parameters and the spine positions as before and the new tick
    looks like the old ones (``_look``); otherwise the axis keeps its new ones.

    ``clear`` forgets where the spines are, and a spine places itself at its first draw with
    ``set_position``, which resets the axis' ticks (its tick marks sit on it) after they were put back.
    So the spines are placed here, right after the clear, where that first draw would place them, without
    the reset; a draw that moves a spine itself keeps the new ticks.
    """

    def __init__(self, ax):
        self.ax = ax
        self.kept = [(axis, axis.majorTicks, axis.minorTicks, dict(axis._major_tick_kw), dict(axis._minor_tick_kw))
                     for axis in (ax.xaxis, ax.yaxis)]
        ax.clear()
        self.spines = self._place_spines()

    def _place_spines(self) -> dict:
        """Each spine's position; one not yet placed goes where ``Spine._ensure_position_is_set`` would put it,
        as ``set_position`` does, but without resetting the ticks (each reset makes two new ones)."""
        for spine in self.ax.spines.values():
            if spine._position is None:
                spine._position = ("outward", 0.0)
                spine.set_transform(spine.get_spine_transform())
        return {name: spine.get_position() for name, spine in self.ax.spines.items()}

    def reuse_if_unchanged(self):
        if self._place_spines() != self.spines:
            return
        for axis, major, minor, major_kw, minor_kw in self.kept:
            if (axis._major_tick_kw == major_kw and axis._minor_tick_kw == minor_kw
                    and _look(major[0]) == _look(axis.majorTicks[0]) and _look(minor[0]) == _look(axis.minorTicks[0])):
                axis.majorTicks, axis.minorTicks = major, minor


def _look(tick) -> tuple:
    """What a draw can change of a tick's appearance, besides its tick parameters: its texts and lines."""
    def text(t):
        return t.get_visible(), t.get_fontproperties(), str(t.get_color()), t.get_rotation(), t.get_alpha()

    def line(ln):
        return (ln.get_visible(), str(ln.get_color()), ln.get_linewidth(), ln.get_linestyle(), ln.get_marker(),
                ln.get_markersize(), ln.get_markeredgewidth(), ln.get_alpha())

    return (text(tick.label1), text(tick.label2), line(tick.tick1line), line(tick.tick2line), line(tick.gridline),
            tick._size, tick._width, tick._tickdir, tick._base_pad, tick._labelrotation, tick._zorder)


def minor_ticks_as_one_line(axis) -> None:
    """Draw an axis' unlabelled minor ticks as one line of tick markers instead of one Tick each.

    A log axis has up to eight minor ticks a decade; drawing each as a Tick (two lines, two labels and a
    grid line, most of them invisible) is a third of an update. Where the minor ticks show only their
    tick mark (no label, no grid line, nothing on the far side), the same markers at the same places in
    the same transform are one ``Line2D`` with all the positions: the same pixels (each marker is stamped
    on its own, as before; the test compares every explorer's picture both ways). The axis itself then
    shows no minor ticks for this draw; the next ``clear`` restores its locator.
    """
    lo, hi = sorted(axis.get_view_interval())
    locs = [x for x in axis.get_minorticklocs() if lo <= x <= hi]
    if len(locs) < 2:
        return
    tick = axis.get_minor_ticks(1)[0]               # styled as every minor tick is (they copy the first)
    labels = axis.get_minor_formatter().format_ticks(locs)
    if (any(labels) and tick.label1.get_visible()) or tick.gridline.get_visible() or tick.tick2line.get_visible() \
            or tick.label2.get_visible() or not tick.tick1line.get_visible():
        return
    line = Line2D([], [])
    line.update_from(tick.tick1line)
    if axis.axis_name == "x":
        line.set_data(locs, [0] * len(locs))
    else:
        line.set_data([0] * len(locs), locs)
    # drawn just after the axes' own ticks and grid lines, as the minor ticks were (last in their axis' draw):
    # where an antialiased edge of a tick mark meets a grid line, the order decides the pixel's last bit
    line.set(transform=tick.tick1line.get_transform(), clip_on=False, zorder=np.nextafter(axis.get_zorder(), np.inf))
    axis.axes.add_artist(line)
    axis.set_minor_locator(NullLocator())


class FrozenLayout:
    """Render a figure with its constrained layout computed once per set of label sizes.

    The constrained layout measures every tick label, title and axis label before each draw, which is
    about half the time of an update. An explorer redraws the same axes again and again, so the axes
    positions it finds are remembered under the sizes of the text it made room for (see
    ``label_sizes``) and reused while those stay the same. A state therefore always shows the same
    picture, and most updates cost one render without the layout.
    """

    def __init__(self, fig):
        self.fig, self.engine, self.known = fig, fig.get_layout_engine(), {}

    def png(self) -> bytes:
        fig = self.fig
        if self.engine is None:
            return figure_png(fig)
        key = label_sizes(fig)
        positions = self.known.get(key)
        if positions is None:
            fig.set_layout_engine(self.engine)
        else:
            fig.set_layout_engine("none")  # place the axes where the constrained layout put them
            for ax, position in zip(fig.axes, positions):
                ax._set_position(position)  # as layout engines do (set_position would take ax out of the layout)
        pin_titles(fig)                     # the layout measures the titles too (a fifth of its time in the search)
        data = figure_png(fig)
        if positions is None:
            self.known[key] = [ax.get_position(original=True) for ax in fig.axes]
        return data


def pin_titles(fig) -> None:
    """Keep each title at its default place without matplotlib's search for a higher one, where none exists.

    Before drawing a title, matplotlib measures the whole y axis (every tick label) to see whether an
    offset text such as ``1e6`` above it, or tick labels on top, would collide with the title: a third of a
    redraw. Where the x axis has nothing on top and the y axis shows no offset text (the offset that the
    draw will show is computed here from the same tick locations), that search cannot move the title, so
    it is skipped for this draw (``Axes.clear`` turns it back on).
    """
    for ax in fig.axes:
        if (ax.xaxis.get_ticks_position() in ("top", "unknown") or ax.xaxis.get_label_position() == "top"
                or ax.child_axes or len(ax._twinned_axes.get_siblings(ax)) > 1):
            continue
        formatter = ax.yaxis.get_major_formatter()
        formatter.format_ticks(ax.yaxis.get_majorticklocs())   # what the draw's tick update will compute
        if ax.yaxis.offsetText.get_visible() and formatter.get_offset():
            continue
        ax._autotitlepos = False


def label_sizes(fig) -> tuple:
    """Lengths of the texts a layout makes room for: titles, axis labels, the widest tick label per axis.

    Measured with every axes at its grid cell's own position, so the number of ticks (which depends on
    the axes' size) and hence the result depend on what is drawn, not on the layout in use.
    """
    sizes = [len(fig._suptitle.get_text()) if fig._suptitle else 0, len(fig.axes)]
    for ax in fig.axes:
        spec = ax.get_subplotspec()
        current = ax.get_position(original=True)
        if spec is not None:
            ax._set_position(spec.get_position(fig))
        sizes += [len(ax.get_title(loc)) for loc in ("left", "center", "right")]
        sizes += [len(ax.get_xlabel()), len(ax.get_ylabel()), ax.get_legend() is not None]
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            widest = 0
            for ticker, locs in ((axis.major, axis.get_majorticklocs()), (axis.minor, axis.get_minorticklocs())):
                shown = [x for x in locs if lo <= x <= hi]
                widest = max([widest] + [len(t) for t in ticker.formatter.format_ticks(shown)])
            sizes.append(widest)
        ax._set_position(current)
    return tuple(sizes)


def figure_png(fig) -> bytes:
    """The figure as PNG bytes, drawn once at the figure's own size and dpi.

    Rendered here rather than by ``display(fig)``: IPython only knows how to show a bare ``Figure`` as
    PNG once pyplot has been imported (otherwise the browser shows ``<Figure size …>`` as text), and its
    inline formatter renders twice (``bbox_inches="tight"``). ``savefig`` too draws the figure twice
    when it has a layout engine (a dry run for the layout, then the real draw); the Agg canvas's ``draw``
    runs once, the layout engine inside it, and its pixels are encoded by :func:`png_bytes`.
    """
    if isinstance(fig.canvas, FigureCanvasAgg):
        fig.canvas.draw()
        return png_bytes(np.asarray(fig.canvas.buffer_rgba()))
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def png_bytes(rgba: np.ndarray) -> bytes:
    """An (h, w, 4) uint8 image as PNG: rows unfiltered, zlib level 1.

    A rendered plot is mostly flat colour, which zlib compresses well without PNG's per-row filters; PIL's
    encoder tries the filters on every row, and takes 3–4 times as long for a file of the same size
    (17 ms against 4.4 ms for lesson 09's 1100 × 420 explorer, 77 kB either way).
    """
    h, w, _ = rgba.shape
    rows = np.empty((h, 1 + 4 * w), np.uint8)
    rows[:, 0] = 0                                       # filter type 0 (none) for every row
    rows[:, 1:] = rgba.reshape(h, 4 * w)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)  # 8 bits, RGBA, deflate, no filter, no interlace
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 1))
            + chunk(b"IEND", b""))
