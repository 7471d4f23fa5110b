// The faultline command: see harness/cli.h.
#include <iostream>

#include "harness/cli.h"

int main(int argc, char** argv) { return fl::harness::run_cli(argc, argv, std::cout, std::cerr); }
