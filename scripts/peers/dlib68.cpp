// dlib's 68-point ERT shape predictor (Kazemi & Sullivan 2014) on face crops, with dlib's own HOG
// frontal face detector, as a peer row for the 300-W tables. Built at run time by run.ts against the
// Debian packages libdlib-dev / libdlib-data (nothing of dlib is vendored).
//
// usage: dlib68 <shape_predictor_68_face_landmarks.dat> <out-dir> <max-upsample> <l> <t> <r> <b>
//   stdin: one image path per line. For each image: detect faces on the image as it is, then after 1,
//   2, … <max-upsample> pyramid_up steps, stopping at the first level that finds a face (upsampling only
//   as needed; 0 is the default of dlib's Python detector), choose the detection that overlaps the
//   fixed box <l t r b> most (the crop's face; crops may show others),
//   and predict 68 points on the ORIGINAL image inside that detection (as dlib's Python API does).
//   No detection at any level: predict inside the fixed box instead ("fallback").
//   Writes <out-dir>/<stem>.pts (1-based, as 300-W: dlib's pixel-index coordinates + 1) and prints one
//   tab-separated line per image: stem, detected|fallback, upsample, detections, l, t, r, b, score.
#include <dlib/image_io.h>
#include <dlib/image_processing.h>
#include <dlib/image_processing/frontal_face_detector.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

using namespace dlib;

static double iou(const rectangle& a, const rectangle& b) {
  const double inter = a.intersect(b).area();
  const double uni = a.area() + b.area() - inter;
  return uni > 0 ? inter / uni : 0.0;
}

int main(int argc, char** argv) {
  if (argc != 8) {
    std::cerr << "usage: dlib68 <predictor.dat> <out-dir> <max-upsample> <l> <t> <r> <b> < image-list\n";
    return 2;
  }
  const std::string model = argv[1], outDir = argv[2];
  const int maxUp = std::atoi(argv[3]);
  const rectangle fixedBox(std::atol(argv[4]), std::atol(argv[5]), std::atol(argv[6]), std::atol(argv[7]));

  frontal_face_detector detector = get_frontal_face_detector();
  shape_predictor predictor;
  deserialize(model) >> predictor;

  std::string path;
  while (std::getline(std::cin, path)) {
    if (path.empty()) continue;
    array2d<rgb_pixel> img;
    load_image(img, path);
    const size_t slash = path.find_last_of('/');
    std::string stem = path.substr(slash == std::string::npos ? 0 : slash + 1);
    stem = stem.substr(0, stem.find_last_of('.'));

    rectangle box = fixedBox;
    int usedUp = 0;
    size_t found = 0;
    double score = 0.0;
    array2d<rgb_pixel> up;
    assign_image(up, img);
    pyramid_down<2> pyr;
    for (int k = 0; k <= maxUp && found == 0; k++) {
      if (k > 0) pyramid_up(up);
      std::vector<rect_detection> dets;
      detector(up, dets, 0.0);
      found = dets.size();
      if (found == 0) continue;
      usedUp = k;
      double best = -1.0;
      for (const rect_detection& d : dets) {
        const rectangle r = rectangle(pyr.rect_down(drectangle(d.rect), k));
        const double o = iou(r, fixedBox);
        if (o > best) {
          best = o;
          box = r;
          score = d.detection_confidence;
        }
      }
    }

    const full_object_detection shape = predictor(img, box);
    std::ofstream out(outDir + "/" + stem + ".pts");
    out << "version: 1\nn_points: " << shape.num_parts() << "\n{\n";
    for (unsigned long i = 0; i < shape.num_parts(); i++) out << shape.part(i).x() + 1 << " " << shape.part(i).y() + 1 << "\n";
    out << "}\n";
    if (!out) {
      std::cerr << "dlib68: cannot write " << outDir << "/" << stem << ".pts\n";
      return 1;
    }
    std::printf("%s\t%s\t%d\t%zu\t%ld\t%ld\t%ld\t%ld\t%.4f\n", stem.c_str(), found ? "detected" : "fallback", usedUp, found,
                box.left(), box.top(), box.right(), box.bottom(), score);
    std::fflush(stdout);
  }
  return 0;
}
