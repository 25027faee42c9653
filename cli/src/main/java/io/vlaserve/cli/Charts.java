package io.vlaserve.cli;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.Rectangle;
import java.awt.RenderingHints;
import java.awt.geom.AffineTransform;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Line2D;
import java.awt.geom.Path2D;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;

/**
 * Small PNG charts drawn with Java2D (headless), so reports need no plotting library and no
 * Python: line charts (several series over shared axes, linear or logarithmic), charts of a plane
 * drawn to equal scale on both axes, and bar charts.
 *
 * <p>The logic that decides what the axes show is separate from the drawing and tested on its own:
 * {@link #linearTicks} and {@link #logTicks} choose round tick values and their labels,
 * {@link Scale} maps values to pixels, {@link #equalScale} widens a data box so one unit is as long
 * on both axes. Stateless and thread-safe.
 */
final class Charts {
  static final int WIDTH = 720;
  static final int HEIGHT = 440;
  private static final int LEFT = 72;
  private static final int RIGHT = 28;
  private static final int BOTTOM = 56;
  private static final int TITLE_BASELINE = 24;
  /** Pixels between labelled ticks we aim for on a linear axis. */
  private static final int TICK_SPACING = 90;
  private static final Font PLAIN = new Font(Font.SANS_SERIF, Font.PLAIN, 12);
  private static final Font BOLD = new Font(Font.SANS_SERIF, Font.BOLD, 15);
  private static final Color GRID = new Color(228, 228, 228);
  private static final Color INK = Color.DARK_GRAY;
  private static final Color[] PALETTE = {new Color(31, 119, 180), new Color(214, 39, 40), new Color(44, 160, 44),
      new Color(255, 127, 14), new Color(148, 103, 189)};

  /**
   * One named polyline; {@code dots} draws markers only (e.g. target positions); {@code color} null
   * takes the next colour of the palette.
   */
  record Series(String name, double[] x, double[] y, boolean dots, Color color) {
    Series(String name, double[] x, double[] y, boolean dots) {
      this(name, x, y, dots, null);
    }
  }

  /** One axis: its title, units included, and whether values are spaced by their logarithm. */
  record Axis(String title, boolean log) {
    static Axis linear(String title) {
      return new Axis(title, false);
    }

    /** A logarithmic axis; values that are not positive are drawn at its lower end. */
    static Axis log(String title) {
      return new Axis(title, true);
    }
  }

  /** A tick: where it sits and what it says. */
  record Tick(double value, String label) {}

  /** A data range mapped onto a pixel span, linearly or by logarithm; {@code pixelMax} may be below {@code pixelMin}. */
  record Scale(double min, double max, boolean log, double pixelMin, double pixelMax) {
    Scale {
      if (!(max > min) || (log && !(min > 0))) {
        throw new IllegalArgumentException("range " + min + ".." + max + (log ? " (expected 0 < min < max)"
            : " (expected min < max)"));
      }
    }

    /** The pixel coordinate of {@code value}; on a log scale values at or below zero go to the lower end. */
    double pixel(double value) {
      double fraction = log
          ? (Math.log(Math.max(value, min)) - Math.log(min)) / (Math.log(max) - Math.log(min))
          : (value - min) / (max - min);
      return pixelMin + fraction * (pixelMax - pixelMin);
    }
  }

  /** A data box: what the plot area shows. */
  record Viewport(double minX, double maxX, double minY, double maxY) {}

  private Charts() {}

  /** Line chart; each axis linear or logarithmic, each scaled to its own data. */
  static void lines(Path file, String title, Axis xAxis, Axis yAxis, List<Series> series) throws IOException {
    double[] box = bounds(series, xAxis.log(), yAxis.log());
    double[] x = xAxis.log() ? logRange(box[0], box[1]) : padded(box[0], box[1], 0);
    double[] y = yAxis.log() ? logRange(box[2], box[3]) : padded(box[2], box[3], 0.04);
    draw(file, title, series, xAxis, yAxis, new Viewport(x[0], x[1], y[0], y[1]), false);
  }

  /**
   * Chart of a plane, e.g. positions on a table seen from above: one unit on x is drawn as long as
   * one unit on y, and both axes step by the same tick.
   */
  static void plane(Path file, String title, String xTitle, String yTitle, List<Series> series) throws IOException {
    double[] box = bounds(series, false, false);
    Graphics2D probe = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB).createGraphics();
    int top = top(probe, series);
    probe.dispose();
    Viewport view = equalScale(box[0], box[1], box[2], box[3], WIDTH - LEFT - RIGHT, HEIGHT - top - BOTTOM, 0.08);
    draw(file, title, series, Axis.linear(xTitle), Axis.linear(yTitle), view, true);
  }

  /** Bar chart: one labelled bar per value, its value written above it. */
  static void bars(Path file, String title, String yTitle, List<String> labels, double[] values) throws IOException {
    double maxY = 0;
    for (double v : values) {
      maxY = Math.max(maxY, v);
    }
    maxY = maxY <= 0 ? 1 : maxY * 1.12;
    BufferedImage image = new BufferedImage(WIDTH, HEIGHT, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = canvas(image, title);
    int top = TITLE_BASELINE + 20;
    Scale xs = new Scale(0, labels.size(), false, LEFT, WIDTH - RIGHT);
    Scale ys = new Scale(0, maxY, false, HEIGHT - BOTTOM, top);
    axes(g, null, ys, List.of(), linearTicks(0, maxY, targetCount(HEIGHT - BOTTOM - top)), null, yTitle, top);
    FontMetrics fm = g.getFontMetrics();
    for (int i = 0; i < labels.size(); i++) {
      double x0 = xs.pixel(i + 0.2);
      double x1 = xs.pixel(i + 0.8);
      double y = ys.pixel(values[i]);
      g.setColor(PALETTE[0]);
      g.fill(new Rectangle2D.Double(x0, y, x1 - x0, HEIGHT - BOTTOM - y));
      g.setColor(INK);
      centered(g, labels.get(i), (x0 + x1) / 2, HEIGHT - BOTTOM + 6 + fm.getAscent());
      centered(g, significant(values[i], 3), (x0 + x1) / 2, y - 4);
    }
    g.dispose();
    ImageIO.write(image, "png", file.toFile());
  }

  // ---- What the axes show (no pixels drawn here) ----

  /**
   * Round ticks inside {@code min..max}, about {@code target} intervals of them: the step is the
   * one of 1, 2 or 5 times a power of ten nearest to {@code (max - min) / target}, and every label
   * has exactly the decimals the step needs ({@code 0.05} steps: {@code "-0.05", "0.00", "0.05"}).
   */
  static List<Tick> linearTicks(double min, double max, int target) {
    if (!(max > min) || target < 1) {
      throw new IllegalArgumentException("range " + min + ".." + max + ", " + target + " ticks (expected min < max, >= 1)");
    }
    return linearTicks(min, max, niceStep((max - min) / target));
  }

  private static List<Tick> linearTicks(double min, double max, BigDecimal step) {
    double s = step.doubleValue();
    int decimals = Math.max(0, step.stripTrailingZeros().scale());
    List<Tick> ticks = new ArrayList<>();
    // A hair of tolerance so a bound that is itself a multiple of the step (0.3 = 3 x 0.1) counts.
    long first = (long) Math.ceil(min / s - 1e-9);
    long last = (long) Math.floor(max / s + 1e-9);
    for (long i = first; i <= last; i++) {
      BigDecimal value = step.multiply(BigDecimal.valueOf(i));
      ticks.add(new Tick(value.doubleValue(), value.setScale(decimals, RoundingMode.HALF_EVEN).toPlainString()));
    }
    return ticks;
  }

  /** The one of 1, 2 and 5 times a power of ten nearest to {@code raw}, on a log scale. */
  static BigDecimal niceStep(double raw) {
    if (!(raw > 0) || Double.isInfinite(raw)) {
      throw new IllegalArgumentException("step " + raw + " (expected > 0 and finite)");
    }
    int exponent = (int) Math.floor(Math.log10(raw));
    double ratio = raw / Math.pow(10, exponent);
    // Geometric midpoints between 1, 2, 5 and 10.
    int mantissa = ratio >= Math.sqrt(50) ? 10 : ratio >= Math.sqrt(10) ? 5 : ratio >= Math.sqrt(2) ? 2 : 1;
    return BigDecimal.valueOf(mantissa).scaleByPowerOfTen(exponent).stripTrailingZeros();
  }

  /**
   * Ticks for a logarithmic axis over {@code min..max} ({@code 0 < min < max}): 1, 2 and 5 times
   * each power of ten when the range spans at most four decades, else the powers of ten alone.
   * Labels are plain decimals ({@code "0.5", "20", "2000"}), never scientific notation.
   */
  static List<Tick> logTicks(double min, double max) {
    if (!(min > 0) || !(max > min)) {
      throw new IllegalArgumentException("range " + min + ".." + max + " (expected 0 < min < max)");
    }
    int[] mantissas = Math.log10(max / min) <= 4 ? new int[] {1, 2, 5} : new int[] {1};
    List<Tick> ticks = new ArrayList<>();
    for (int exponent = (int) Math.floor(Math.log10(min)); exponent <= (int) Math.ceil(Math.log10(max)); exponent++) {
      for (int mantissa : mantissas) {
        BigDecimal value = BigDecimal.valueOf(mantissa).scaleByPowerOfTen(exponent);
        double v = value.doubleValue();
        if (v >= min * (1 - 1e-9) && v <= max * (1 + 1e-9)) {
          ticks.add(new Tick(v, value.toPlainString()));
        }
      }
    }
    return ticks;
  }

  /**
   * The range a logarithmic axis shows for data in {@code min..max}: the data plus 3% of its
   * decades on each side, and at least one decade in all, so some 1, 2 or 5 tick falls inside.
   */
  static double[] logRange(double min, double max) {
    if (!(min > 0) || !(max >= min)) {
      throw new IllegalArgumentException("range " + min + ".." + max + " (expected 0 < min <= max)");
    }
    double low = Math.log10(min);
    double high = Math.log10(max);
    double pad = Math.max(0.03 * (high - low), (1 - (high - low)) / 2);
    return new double[] {Math.pow(10, low - pad), Math.pow(10, high + pad)};
  }

  /**
   * The data box to show so that one unit on x is as many pixels as one unit on y, in a plot area of
   * {@code width} x {@code height} pixels: the data box plus {@code margin} of its larger side on
   * each side, then widened along one axis, centred, to the area's aspect ratio.
   */
  static Viewport equalScale(double minX, double maxX, double minY, double maxY, int width, int height, double margin) {
    if (width <= 0 || height <= 0 || !(maxX >= minX) || !(maxY >= minY)) {
      throw new IllegalArgumentException("box " + minX + ".." + maxX + " x " + minY + ".." + maxY + " in " + width + "x"
          + height + " px (expected min <= max, positive size)");
    }
    double spanX = maxX - minX;
    double spanY = maxY - minY;
    double largest = Math.max(spanX, spanY);
    double pad = largest > 0 ? largest * margin : Math.max(Math.max(Math.abs(minX), Math.abs(minY)) * 0.1, 1e-3);
    spanX += 2 * pad;
    spanY += 2 * pad;
    double unitsPerPixel = Math.max(spanX / width, spanY / height);
    double halfX = unitsPerPixel * width / 2;
    double halfY = unitsPerPixel * height / 2;
    double cx = (minX + maxX) / 2;
    double cy = (minY + maxY) / 2;
    return new Viewport(cx - halfX, cx + halfX, cy - halfY, cy + halfY);
  }

  private static int targetCount(double pixels) {
    return Math.max(2, (int) Math.round(pixels / TICK_SPACING));
  }

  private static double[] padded(double min, double max, double fraction) {
    double pad = (max - min) * fraction;
    return new double[] {min - pad, max + pad};
  }

  /** minX, maxX, minY, maxY over every point; only positive values count on a log axis. */
  private static double[] bounds(List<Series> series, boolean logX, boolean logY) {
    double[] box = {Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY,
        Double.NEGATIVE_INFINITY};
    for (Series s : series) {
      for (int i = 0; i < s.x().length; i++) {
        if (Double.isFinite(s.x()[i]) && (!logX || s.x()[i] > 0)) {
          box[0] = Math.min(box[0], s.x()[i]);
          box[1] = Math.max(box[1], s.x()[i]);
        }
        if (Double.isFinite(s.y()[i]) && (!logY || s.y()[i] > 0)) {
          box[2] = Math.min(box[2], s.y()[i]);
          box[3] = Math.max(box[3], s.y()[i]);
        }
      }
    }
    fix(box, 0, logX);
    fix(box, 2, logY);
    return box;
  }

  private static void fix(double[] box, int i, boolean log) {
    if (box[i] > box[i + 1]) {
      box[i] = log ? 1 : 0;
      box[i + 1] = log ? 10 : 1;
    } else if (!(box[i + 1] > box[i])) {
      box[i + 1] = log ? box[i] * 10 : box[i] + 1;
    }
  }

  // ---- Drawing ----

  private static void draw(Path file, String title, List<Series> series, Axis xAxis, Axis yAxis, Viewport view,
      boolean sameStep) throws IOException {
    BufferedImage image = new BufferedImage(WIDTH, HEIGHT, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = canvas(image, title);
    int top = legend(g, series);
    Scale xs = new Scale(view.minX(), view.maxX(), xAxis.log(), LEFT, WIDTH - RIGHT);
    Scale ys = new Scale(view.minY(), view.maxY(), yAxis.log(), HEIGHT - BOTTOM, top);
    List<Tick> xTicks;
    List<Tick> yTicks;
    if (sameStep) {
      // Equal scale: the same step on both axes, so the grid is made of squares.
      double unitsPerPixel = (view.maxX() - view.minX()) / (WIDTH - LEFT - RIGHT);
      BigDecimal step = niceStep(unitsPerPixel * TICK_SPACING * 0.8);
      xTicks = linearTicks(view.minX(), view.maxX(), step);
      yTicks = linearTicks(view.minY(), view.maxY(), step);
    } else {
      xTicks = xAxis.log() ? logTicks(view.minX(), view.maxX())
          : linearTicks(view.minX(), view.maxX(), targetCount(WIDTH - LEFT - RIGHT));
      yTicks = yAxis.log() ? logTicks(view.minY(), view.maxY())
          : linearTicks(view.minY(), view.maxY(), targetCount(HEIGHT - BOTTOM - top));
    }
    axes(g, xs, ys, xTicks, yTicks, xAxis.title(), yAxis.title(), top);
    g.clip(new Rectangle(LEFT, top, WIDTH - LEFT - RIGHT + 1, HEIGHT - BOTTOM - top + 1));
    int index = 0;
    for (Series s : series) {
      g.setColor(color(s, index++));
      g.setStroke(new BasicStroke(2f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND));
      Path2D.Double line = new Path2D.Double();
      for (int i = 0; i < s.x().length; i++) {
        double px = xs.pixel(s.x()[i]);
        double py = ys.pixel(s.y()[i]);
        if (s.dots()) {
          g.fill(new Ellipse2D.Double(px - 6, py - 6, 12, 12));
          g.setColor(INK);
          g.setStroke(new BasicStroke(1f));
          g.draw(new Ellipse2D.Double(px - 6, py - 6, 12, 12));
          g.setColor(color(s, index - 1));
        } else if (i == 0) {
          line.moveTo(px, py);
        } else {
          line.lineTo(px, py);
        }
      }
      if (!s.dots()) {
        g.draw(line);
      }
    }
    g.dispose();
    ImageIO.write(image, "png", file.toFile());
  }

  private static Color color(Series s, int index) {
    return s.color() != null ? s.color() : PALETTE[index % PALETTE.length];
  }

  private static Graphics2D canvas(BufferedImage image, String title) {
    Graphics2D g = image.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
    g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
    g.setRenderingHint(RenderingHints.KEY_STROKE_CONTROL, RenderingHints.VALUE_STROKE_PURE);
    g.setColor(Color.WHITE);
    g.fillRect(0, 0, WIDTH, HEIGHT);
    g.setColor(INK);
    g.setFont(BOLD);
    g.drawString(title, LEFT, TITLE_BASELINE);
    g.setFont(PLAIN);
    return g;
  }

  /** The legend's rows: entries laid left to right under the title, wrapped at the chart's width. */
  private static List<List<Integer>> legendRows(Graphics2D g, List<Series> series) {
    FontMetrics fm = g.getFontMetrics(PLAIN);
    List<List<Integer>> rows = new ArrayList<>();
    List<Integer> row = new ArrayList<>();
    int x = LEFT;
    for (int i = 0; i < series.size(); i++) {
      int w = 22 + fm.stringWidth(series.get(i).name()) + 18;
      if (!row.isEmpty() && x + w > WIDTH - RIGHT) {
        rows.add(row);
        row = new ArrayList<>();
        x = LEFT;
      }
      row.add(i);
      x += w;
    }
    if (!row.isEmpty()) {
      rows.add(row);
    }
    return rows;
  }

  /** Where the plot area starts, below the title and the legend. */
  private static int top(Graphics2D g, List<Series> series) {
    return TITLE_BASELINE + 14 + 18 * legendRows(g, series).size() + 6;
  }

  /** Draws the legend and returns the top of the plot area. */
  private static int legend(Graphics2D g, List<Series> series) {
    FontMetrics fm = g.getFontMetrics(PLAIN);
    int baseline = TITLE_BASELINE + 14 + fm.getAscent();
    for (List<Integer> row : legendRows(g, series)) {
      int x = LEFT;
      for (int i : row) {
        Series s = series.get(i);
        g.setColor(color(s, i));
        int mid = baseline - fm.getAscent() / 2 + 1;
        if (s.dots()) {
          g.fill(new Ellipse2D.Double(x + 5, mid - 5, 10, 10));
        } else {
          g.setStroke(new BasicStroke(2.5f));
          g.draw(new Line2D.Double(x, mid, x + 18, mid));
        }
        g.setColor(INK);
        g.drawString(s.name(), x + 22, baseline);
        x += 22 + fm.stringWidth(s.name()) + 18;
      }
      baseline += 18;
    }
    return top(g, series);
  }

  /** Grid, frame, tick labels and axis titles; {@code xs} null for a chart without a value x axis. */
  private static void axes(Graphics2D g, Scale xs, Scale ys, List<Tick> xTicks, List<Tick> yTicks, String xTitle,
      String yTitle, int top) {
    FontMetrics fm = g.getFontMetrics(PLAIN);
    g.setStroke(new BasicStroke(1f));
    g.setColor(GRID);
    for (Tick t : xTicks) {
      double px = xs.pixel(t.value());
      g.draw(new Line2D.Double(px, top, px, HEIGHT - BOTTOM));
    }
    for (Tick t : yTicks) {
      double py = ys.pixel(t.value());
      g.draw(new Line2D.Double(LEFT, py, WIDTH - RIGHT, py));
    }
    g.setColor(INK);
    g.drawRect(LEFT, top, WIDTH - LEFT - RIGHT, HEIGHT - BOTTOM - top);
    for (Tick t : xTicks) {
      double px = xs.pixel(t.value());
      g.draw(new Line2D.Double(px, HEIGHT - BOTTOM, px, HEIGHT - BOTTOM + 4));
      centered(g, t.label(), px, HEIGHT - BOTTOM + 6 + fm.getAscent());
    }
    for (Tick t : yTicks) {
      double py = ys.pixel(t.value());
      g.draw(new Line2D.Double(LEFT - 4, py, LEFT, py));
      g.drawString(t.label(), LEFT - 7 - fm.stringWidth(t.label()), (float) (py + fm.getAscent() / 2.0 - 1));
    }
    if (xTitle != null && !xTitle.isEmpty()) {
      centered(g, xTitle, LEFT + (WIDTH - LEFT - RIGHT) / 2.0, HEIGHT - 12);
    }
    if (yTitle != null && !yTitle.isEmpty()) {
      AffineTransform saved = g.getTransform();
      g.rotate(-Math.PI / 2);
      // Rotated a quarter turn: x runs up the image, y runs right.
      double centre = -(top + (HEIGHT - BOTTOM - top) / 2.0);
      int w = fm.stringWidth(yTitle);
      g.drawString(yTitle, (float) Math.min(-4 - w, Math.max(centre - w / 2.0, -(HEIGHT - 4))), fm.getAscent() + 4);
      g.setTransform(saved);
    }
  }

  /** {@code value} to {@code digits} significant digits, written out: 1070, 88, 12.5, 0.00123. */
  static String significant(double value, int digits) {
    if (!Double.isFinite(value)) {
      return Double.toString(value);
    }
    return new BigDecimal(value).round(new MathContext(digits)).stripTrailingZeros().toPlainString();
  }

  /** Draws {@code text} centred on {@code x}, moved inwards if it would run off the image. */
  private static void centered(Graphics2D g, String text, double x, double baseline) {
    int w = g.getFontMetrics().stringWidth(text);
    double left = Math.max(2, Math.min(x - w / 2.0, WIDTH - 2 - w));
    g.drawString(text, (float) left, (float) baseline);
  }
}
