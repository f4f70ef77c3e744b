import sys

from bpcore.diagrams import main

main(sys.argv[1:])
