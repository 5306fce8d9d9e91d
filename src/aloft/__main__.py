from aloft.cli import main

main()
