package io.vlaserve.cli;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;

/**
 * Small PNG charts drawn with Java2D (headless), so reports need no plotting library and no
 * Python: line charts (several series over shared axes) and bar charts.
 */
final class Charts {
  private static final int WIDTH = 720;
  private static final int HEIGHT = 440;
  private static final int LEFT = 80;
  private static final int RIGHT = 24;
  private static final int TOP = 44;
  private static final int BOTTOM = 56;
  private static final Color[] PALETTE = {new Color(31, 119, 180), new Color(214, 39, 40), new Color(44, 160, 44),
      new Color(255, 127, 14), new Color(148, 103, 189)};

  /** One named polyline; {@code dots} draws markers only (e.g. target positions). */
  record Series(String name, double[] x, double[] y, boolean dots) {}

  private Charts() {}

  static void lines(Path file, String title, String xLabel, String yLabel, List<Series> series) throws IOException {
    double minX = Double.POSITIVE_INFINITY;
    double maxX = Double.NEGATIVE_INFINITY;
    double minY = Double.POSITIVE_INFINITY;
    double maxY = Double.NEGATIVE_INFINITY;
    for (Series s : series) {
      for (int i = 0; i < s.x().length; i++) {
        minX = Math.min(minX, s.x()[i]);
        maxX = Math.max(maxX, s.x()[i]);
        minY = Math.min(minY, s.y()[i]);
        maxY = Math.max(maxY, s.y()[i]);
      }
    }
    if (!(maxX > minX)) {
      maxX = minX + 1;
    }
    if (!(maxY > minY)) {
      maxY = minY + 1;
    }
    double padY = (maxY - minY) * 0.05;
    minY -= padY;
    maxY += padY;
    BufferedImage image = new BufferedImage(WIDTH, HEIGHT, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = frame(image, title, xLabel, yLabel, minX, maxX, minY, maxY);
    int index = 0;
    for (Series s : series) {
      g.setColor(PALETTE[index % PALETTE.length]);
      g.setStroke(new BasicStroke(2f));
      int previousX = 0;
      int previousY = 0;
      for (int i = 0; i < s.x().length; i++) {
        int px = px(s.x()[i], minX, maxX);
        int py = py(s.y()[i], minY, maxY);
        if (s.dots()) {
          g.fillOval(px - 5, py - 5, 10, 10);
        } else if (i > 0) {
          g.drawLine(previousX, previousY, px, py);
        }
        previousX = px;
        previousY = py;
      }
      g.drawString(s.name(), WIDTH - RIGHT - 220, TOP + 18 + 16 * index);
      index++;
    }
    g.dispose();
    ImageIO.write(image, "png", file.toFile());
  }

  static void bars(Path file, String title, String yLabel, List<String> labels, double[] values) throws IOException {
    double maxY = 0;
    for (double v : values) {
      maxY = Math.max(maxY, v);
    }
    maxY = maxY <= 0 ? 1 : maxY * 1.1;
    BufferedImage image = new BufferedImage(WIDTH, HEIGHT, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = frame(image, title, "", yLabel, 0, labels.size(), 0, maxY);
    double slot = (WIDTH - LEFT - RIGHT) / (double) labels.size();
    for (int i = 0; i < labels.size(); i++) {
      int x0 = (int) (LEFT + i * slot + slot * 0.2);
      int w = (int) (slot * 0.6);
      int y = py(values[i], 0, maxY);
      g.setColor(PALETTE[0]);
      g.fillRect(x0, y, w, HEIGHT - BOTTOM - y);
      g.setColor(Color.DARK_GRAY);
      g.drawString(labels.get(i), x0, HEIGHT - BOTTOM + 18);
      g.drawString(String.format(Locale.ROOT, "%.3g", values[i]), x0, y - 4);
    }
    g.dispose();
    ImageIO.write(image, "png", file.toFile());
  }

  private static Graphics2D frame(BufferedImage image, String title, String xLabel, String yLabel, double minX,
      double maxX, double minY, double maxY) {
    Graphics2D g = image.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
    g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
    g.setColor(Color.WHITE);
    g.fillRect(0, 0, WIDTH, HEIGHT);
    g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
    g.setColor(new Color(230, 230, 230));
    for (int i = 0; i <= 5; i++) {
      int y = TOP + (HEIGHT - TOP - BOTTOM) * i / 5;
      g.drawLine(LEFT, y, WIDTH - RIGHT, y);
    }
    g.setColor(Color.DARK_GRAY);
    g.drawRect(LEFT, TOP, WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
    for (int i = 0; i <= 5; i++) {
      double value = maxY - (maxY - minY) * i / 5;
      g.drawString(String.format(Locale.ROOT, "%.3g", value), 8, TOP + (HEIGHT - TOP - BOTTOM) * i / 5 + 4);
    }
    if (!xLabel.isEmpty()) {
      for (int i = 0; i <= 5; i++) {
        double value = minX + (maxX - minX) * i / 5;
        g.drawString(String.format(Locale.ROOT, "%.3g", value), LEFT + (WIDTH - LEFT - RIGHT) * i / 5 - 10,
            HEIGHT - BOTTOM + 18);
      }
      g.drawString(xLabel, WIDTH / 2 - 60, HEIGHT - 14);
    }
    g.drawString(yLabel, 8, TOP - 10);
    g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
    g.drawString(title, LEFT, 24);
    g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
    return g;
  }

  private static int px(double x, double min, double max) {
    return (int) Math.round(LEFT + (x - min) / (max - min) * (WIDTH - LEFT - RIGHT));
  }

  private static int py(double y, double min, double max) {
    return (int) Math.round(HEIGHT - BOTTOM - (y - min) / (max - min) * (HEIGHT - TOP - BOTTOM));
  }
}
