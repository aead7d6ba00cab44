import sys

from kubenest.cli.main import main

sys.exit(main())
