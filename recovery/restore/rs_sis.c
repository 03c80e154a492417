/* rs_sis.c - SIS links and the common store on restore and verify. */
